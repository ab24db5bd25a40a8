/**
 * A minimal Node client that speaks the fedweb protocol over `ws` and returns KNOWN updates (it trains
 * nothing). Used by the server tests, the e2e harness and the benchmarks. It follows the real flow:
 * discover -> WebSocket -> hello/welcome -> heartbeats -> task.train -> (download + verify the model) ->
 * update + binary chunks -> update.ack | error; task.validate -> validation. It rediscovers and reconnects
 * by itself when the socket drops.
 */
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  fedError,
  flattenTensors,
  parseMessage,
  requestBytes,
  splitIntoChunks,
  unflattenTensors,
  type Capabilities,
  type Encoding,
  type Message,
  type MessageInput,
  type MessageKind,
  type MessageOf,
  type Metrics,
  type NamedTensor,
  type TensorSpec,
} from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { ApiClient } from '../api-client/api-client.js';

export type TrainTask = MessageOf<'task.train'>;
export type ValidateTask = MessageOf<'task.validate'>;

/** What the test client sends for a training task. */
export interface TestUpdate {
  /** The delta (local - global): flat f32 in layout order, or named tensors. Default: zeros. */
  delta?: Float32Array | NamedTensor[];
  /** A ready-made frame, sent as is (overrides `delta` and `encoding`). */
  frame?: Uint8Array;
  numExamples: number;
  metrics?: Metrics;
  /** Encoding of `delta` (default: the task's `settings.encoding`, else the client's `encoding`). */
  encoding?: Encoding;
  /** Announce this SHA-256 instead of the real one (tampering tests). */
  sha256?: string;
  /** Announce this round id instead of the task's (stale-round tests). */
  roundId?: string;
  /** Send only this many chunks, then drop the socket without a close handshake (disconnect mid-upload). */
  stopAfterChunks?: number;
  /** Wait this long before uploading. */
  delayMs?: number;
  /** Chunk size for this upload (default the client's). */
  chunkSize?: number;
}

export interface TrainContext {
  /** The global model's layout (from the downloaded model frame). */
  layout: TensorSpec[];
  /** The global model, flat (null when `fetchModel` is false). */
  global: Float32Array | null;
  client: TestClient;
}

export interface TestClientOptions {
  /** The controller's HTTP base, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  clientId: string;
  token?: string;
  capabilities?: Capabilities;
  /** Answer to a training task; `null` = ignore the task. Default: a zero delta with 1 example. */
  onTrain?: (task: TrainTask, ctx: TrainContext) => TestUpdate | null | Promise<TestUpdate | null>;
  /** Answer to a validation task; `null` = ignore. Default: `{ numExamples: 1, metrics: { accuracy: 0 } }`. */
  onValidate?: (task: ValidateTask) => { numExamples: number; metrics: Metrics } | null | Promise<{ numExamples: number; metrics: Metrics } | null>;
  /** Fallback encoding when neither the update nor the task says. Default `f32`. */
  encoding?: Encoding;
  /** Download and SHA-256-check the model of each task (default true; benchmarks turn it off and need `layout`). */
  fetchModel?: boolean;
  /** Layout to use when `fetchModel` is false. */
  layout?: TensorSpec[];
  /** Rediscover and reconnect when the socket drops (default true). */
  autoReconnect?: boolean;
  /** Send heartbeats (default true; false simulates a silent client). */
  heartbeat?: boolean;
  /** Default 1 MiB. */
  chunkSize?: number;
  /** Per-request timeout for HTTP calls, default 10 s. */
  httpTimeoutMs?: number;
  /**
   * Ping the combiner every this many ms and drop the socket (then rediscover) when a ping went unanswered:
   * how a Node client notices a combiner cut off the network, where no close ever arrives. Default off.
   */
  livenessMs?: number;
}

const frameShas = new WeakMap<Uint8Array, string>();
const sha256 = (bytes: Uint8Array): string => {
  const hit = frameShas.get(bytes);
  if (hit) return hit;
  const h = createHash('sha256').update(bytes).digest('hex');
  frameShas.set(bytes, h);
  return h;
};

/**
 * Calls the REST API and returns the JSON body; throws FedError (with the server's code) on an HTTP error.
 * A thin wrapper over the typed client's {@link ApiClient.request} (tests that want types call the client's methods).
 * @example
 * ```ts
 * const { session } = await api(server.url, '/api/sessions', { method: 'POST', body: { rounds: 2 } });
 * ```
 */
export async function api<T = any>(baseUrl: string, path: string, init: { method?: string; body?: unknown; token?: string; timeoutMs?: number } = {}): Promise<T> {
  const client = new ApiClient({ baseUrl, token: init.token, timeoutMs: init.timeoutMs ?? 10_000 });
  return client.request<T>(path, { ...(init.method ? { method: init.method } : {}), ...(init.body !== undefined ? { json: init.body } : {}) });
}

/**
 * One protocol client. Create with {@link TestClient.connect}.
 * @example
 * ```ts
 * const c = await TestClient.connect({ baseUrl: server.url, clientId: 'a', onTrain: () => ({ delta: new Float32Array([1, 2]), numExamples: 3 }) });
 * const ack = await c.waitFor('update.ack');
 * await c.close();
 * ```
 */
export class TestClient extends EventEmitter {
  readonly clientId: string;
  combinerId: string | null = null;
  combinerUrl: string | null = null;
  heartbeatMs = 5000;
  /** Every message received (last 2000). */
  readonly received: Message[] = [];
  /** Connections made so far (1 after connect; more after reconnects). */
  connections = 0;
  private ws: WebSocket | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private livenessTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly models = new Map<string, { layout: TensorSpec[]; flat: Float32Array }>();
  private readonly handledTasks = new Set<string>();

  private constructor(readonly opts: TestClientOptions) {
    super();
    this.clientId = opts.clientId;
    this.setMaxListeners(100);
  }

  /** Discovers a combiner, connects, sends hello and resolves on `welcome`. */
  static async connect(opts: TestClientOptions): Promise<TestClient> {
    const c = new TestClient(opts);
    await c.open();
    return c;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.combinerId !== null;
  }

  /** Resolves when the next message of `kind` (matching `pred`) arrives; with `past`, an earlier one counts. */
  waitFor<K extends MessageKind>(kind: K, pred: (m: MessageOf<K>) => boolean = () => true, timeoutMs = 30_000, past = false): Promise<MessageOf<K>> {
    if (past) {
      const hit = this.received.find((m) => m.kind === kind && pred(m as MessageOf<K>));
      if (hit) return Promise.resolve(hit as MessageOf<K>);
    }
    return new Promise((resolve, reject) => {
      const onMessage = (m: Message): void => {
        if (m.kind === kind && pred(m as MessageOf<K>)) {
          clearTimeout(timer);
          this.off('message', onMessage);
          resolve(m as MessageOf<K>);
        }
      };
      const timer = setTimeout(() => {
        this.off('message', onMessage);
        reject(fedError('TIMEOUT', `${this.clientId}: no '${kind}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('message', onMessage);
    });
  }

  /** Resolves when the client is connected again (e.g. after a server restart). */
  waitConnected(timeoutMs = 30_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onWelcome = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('welcome', onWelcome);
        reject(fedError('TIMEOUT', `${this.clientId}: not reconnected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.once('welcome', onWelcome);
    });
  }

  private async discover(): Promise<{ combinerId: string; url: string }> {
    const client = new ApiClient({ baseUrl: this.opts.baseUrl, token: this.opts.token, timeoutMs: this.opts.httpTimeoutMs ?? 10_000 });
    return client.discover(this.clientId, this.opts.capabilities);
  }

  private async open(): Promise<void> {
    const target = await this.discover();
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(target.url, { maxPayload: 64 * 1024 * 1024 });
      this.ws = ws;
      let welcomed = false;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(fedError('TIMEOUT', `${this.clientId}: no welcome from ${target.url}`));
      }, this.opts.httpTimeoutMs ?? 10_000);
      ws.on('open', () => {
        ws.send(encodeMessage({ v: 2, kind: 'hello', clientId: this.clientId, ...(this.opts.token ? { token: this.opts.token } : {}), capabilities: this.opts.capabilities ?? { platform: 'node' } }));
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const r = parseMessage(data.toString());
        if (!r.ok) return;
        const m = r.value;
        this.received.push(m);
        if (this.received.length > 2000) this.received.shift();
        if (m.kind === 'welcome' && !welcomed) {
          welcomed = true;
          clearTimeout(timer);
          this.combinerId = m.combinerId;
          this.combinerUrl = target.url;
          this.heartbeatMs = m.heartbeatMs;
          this.connections += 1;
          this.startHeartbeat();
          this.startLiveness(ws);
          resolve();
        }
        if (m.kind === 'error' && !welcomed) {
          clearTimeout(timer);
          reject(fedError(m.code, `${this.clientId}: ${m.message}`));
        }
        this.emit('message', m);
        if (m.kind === 'welcome') this.emit('welcome', m);
        if (m.kind === 'task.train') void this.handleTrain(m).catch((e: unknown) => this.emit('failure', e));
        if (m.kind === 'task.validate') void this.handleValidate(m).catch((e: unknown) => this.emit('failure', e));
      });
      ws.on('close', () => {
        clearTimeout(timer);
        if (this.ws === ws) {
          this.combinerId = null;
          this.stopHeartbeat();
          this.emit('disconnected');
          if (!welcomed) reject(fedError('UNAVAILABLE', `${this.clientId}: connection to ${target.url} closed before welcome`));
          if (!this.stopped && (this.opts.autoReconnect ?? true)) this.scheduleReconnect(0);
        }
      });
      ws.on('error', () => undefined);
    });
  }

  private scheduleReconnect(attempt: number): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = Math.min(2000, 100 * 2 ** attempt);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped) return;
      this.open().catch(() => this.scheduleReconnect(attempt + 1));
    }, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    if (this.opts.heartbeat === false) return;
    this.heartbeatTimer = setInterval(() => this.send({ v: 2, kind: 'heartbeat', t: Date.now() }), this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.livenessTimer = null;
  }

  private startLiveness(ws: WebSocket): void {
    const every = this.opts.livenessMs;
    if (!every) return;
    let answered = true;
    const alive = (): void => {
      answered = true;
    };
    ws.on('pong', alive);
    ws.on('message', alive);
    this.livenessTimer = setInterval(() => {
      if (!answered) return ws.terminate();
      answered = false;
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, every);
  }

  /** Sends a control message (validated). */
  send(msg: MessageInput<MessageKind>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeMessage(msg));
    return true;
  }

  /** Sends raw text or bytes, unvalidated (bad-input tests). */
  sendRaw(data: string | Uint8Array): void {
    this.ws?.send(data);
  }

  /** The model of a task: downloaded over HTTP, SHA-256 checked, decoded. */
  async model(ref: TrainTask['model']): Promise<{ layout: TensorSpec[]; flat: Float32Array }> {
    const hit = this.models.get(ref.sha256);
    if (hit) return hit;
    const url = new URL(ref.url, `${this.opts.baseUrl.replace(/\/+$/, '')}/`).href;
    const bytes = await requestBytes({ url, token: this.opts.token, timeoutMs: this.opts.httpTimeoutMs ?? 10_000, maxBytes: Math.max(ref.bytes + 1, DEFAULT_MAX_RESPONSE_BYTES) });
    if (sha256(bytes) !== ref.sha256) throw fedError('HASH_MISMATCH', `model ${ref.id} does not match its SHA-256`);
    const tensors = await decodeFrame(bytes, { compressor: nodeZlibCompressor });
    const m = { layout: tensors.map((t) => ({ name: t.name, shape: t.shape })), flat: flattenTensors(tensors) };
    this.models.clear();
    this.models.set(ref.sha256, m);
    return m;
  }

  private async handleTrain(task: TrainTask): Promise<void> {
    // A task re-sent after a reconnect is answered again (the combiner refuses a duplicate if it counted one).
    const key = `${task.taskId}:${this.connections}`;
    if (this.handledTasks.has(key)) return;
    this.handledTasks.add(key);
    let layout = this.opts.layout ?? [];
    let global: Float32Array | null = null;
    if (this.opts.fetchModel ?? true) {
      const m = await this.model(task.model);
      layout = m.layout;
      global = m.flat;
    }
    const update = this.opts.onTrain ? await this.opts.onTrain(task, { layout, global, client: this }) : { numExamples: 1 };
    if (!update) return;
    await this.sendUpdate(task, update, layout);
  }

  private async handleValidate(task: ValidateTask): Promise<void> {
    const r = this.opts.onValidate ? await this.opts.onValidate(task) : { numExamples: 1, metrics: { accuracy: 0 } };
    if (!r) return;
    this.send({ v: 2, kind: 'validation', taskId: task.taskId, roundId: task.roundId, numExamples: r.numExamples, metrics: r.metrics });
  }

  /** Encodes and uploads an update for a task (what `onTrain`'s return value triggers). */
  async sendUpdate(task: TrainTask, update: TestUpdate, layout: TensorSpec[]): Promise<void> {
    if (update.delayMs) await new Promise((r) => setTimeout(r, update.delayMs));
    let frame = update.frame;
    if (!frame) {
      const n = layout.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
      const delta = update.delta ?? new Float32Array(n);
      const tensors = delta instanceof Float32Array ? unflattenTensors(delta, layout) : delta;
      const encoding = update.encoding ?? task.settings.encoding ?? this.opts.encoding ?? 'f32';
      frame = await encodeFrame(tensors, {
        encoding,
        compressor: nodeZlibCompressor,
        ...(task.settings.topkFraction !== undefined ? { topkFraction: task.settings.topkFraction } : {}),
      });
    }
    const uploadId = `u${randomBytes(6).toString('hex')}`;
    const chunks = splitIntoChunks(frame, { uploadId, chunkSize: update.chunkSize ?? this.opts.chunkSize ?? 1024 * 1024 });
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw fedError('UNAVAILABLE', `${this.clientId}: not connected`);
    ws.send(
      encodeMessage({
        v: 2,
        kind: 'update',
        taskId: task.taskId,
        roundId: update.roundId ?? task.roundId,
        uploadId,
        numExamples: update.numExamples,
        metrics: update.metrics ?? {},
        sha256: update.sha256 ?? sha256(frame),
        byteLength: frame.byteLength,
        chunkCount: chunks.length,
      }),
    );
    const limit = update.stopAfterChunks ?? chunks.length;
    for (let i = 0; i < Math.min(limit, chunks.length); i++) {
      await new Promise<void>((resolve, reject) => ws.send(chunks[i] as Uint8Array, { binary: true }, (err) => (err ? reject(err) : resolve())));
    }
    if (limit < chunks.length) {
      // Disconnect mid-upload: no close handshake, like a tab killed or a network drop.
      ws.terminate();
    }
  }

  /** Drops the socket without a closing handshake; the client reconnects by itself unless `stop`. */
  drop(): void {
    this.ws?.terminate();
  }

  /** Kills the client for good (no reconnect, no close handshake). */
  kill(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    this.ws?.terminate();
  }

  /** Closes the client for good. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, 'bye');
    });
  }
}

/**
 * Connects `n` clients (ids `${prefix}${i}`), at most `concurrency` at a time.
 * @example
 * ```ts
 * const clients = await connectClients(100, (i) => ({ baseUrl, clientId: `c${i}`, onTrain: () => ({ frame, numExamples: 10 }) }));
 * ```
 */
export async function connectClients(n: number, make: (i: number) => TestClientOptions, concurrency = 50): Promise<TestClient[]> {
  const out: TestClient[] = new Array(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = await TestClient.connect(make(i));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}
