/**
 * FedClient: joins a fedweb server, trains when asked, uploads updates, survives reloads, network cuts and
 * worker crashes. Platform-neutral: the browser and Node entry points inject a {@link FedPlatform}.
 *
 * Protocol (HELPERS.md "Protocol flow"): discover over HTTP -> one WebSocket to the assigned combiner ->
 * hello/welcome -> heartbeats -> task.train (fetch + verify package and model, train, upload update + chunks,
 * wait for update.ack) / task.validate (validation) / task.cancel (abort).
 */
import {
  BlobRefSchema,
  ComputePackageManifestSchema,
  PROTOCOL_VERSION,
  fedError,
  isFedError,
  sha256Hex,
  splitIntoChunks,
  toFedError,
  type BlobRef,
  type Capabilities,
  type ComputePackageManifest,
  type FedError,
  type Message,
  type MessageOf,
} from '@fedweb/codec';
import { abortReason, linkedController, sleep, withTimeout } from './abort.js';
import { Backoff } from '@fedweb/codec';
import { withBackend } from './capabilities.js';
import { TypedEmitter } from './events.js';
import { checkDataset } from './dataset.js';
import { createFallbackCache } from '../cache/fallback-cache.js';
import { createMemoryCache } from '../cache/memory-cache.js';
import type { ClientCache, PendingUpdate } from '../cache/types.js';
import { Connection } from '../transport/connection.js';
import { discover, fetchVerified, toHttpBase, type HttpContext } from '../transport/http.js';
import type { BackendReport, TrainerApi } from '../trainer/api.js';
import type {
  ClientStatus,
  FedClientEvents,
  FedClientOptions,
  FedClientTimeouts,
  FedPlatform,
  RoundEvent,
  StatusEvent,
  TrainerHandle,
} from './types.js';

/**
 * The SDK version sent in `hello`.
 * @example
 * ```ts
 * console.log(`fedweb client ${SDK_VERSION}`);
 * ```
 */
export const SDK_VERSION = '0.1.0';

const DEFAULT_TIMEOUTS: FedClientTimeouts = {
  discoverMs: 10_000,
  connectMs: 10_000,
  welcomeMs: 10_000,
  downloadMs: 120_000,
  ackMs: 60_000,
  trainerSetupMs: 180_000,
  trainMs: 30 * 60_000,
  validateMs: 10 * 60_000,
  dataMs: 60_000,
  stopMs: 5_000,
};

/** Errors after which retrying cannot help: the client stops and reports `failed`. */
const FATAL = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'VERSION_MISMATCH', 'BAD_CONFIG']);
/** While connecting, also CONFLICT: another instance holds this client id. */
const FATAL_CONNECT = new Set([...FATAL, 'CONFLICT']);
/** WebSocket close code a combiner uses when a newer connection with the same client id replaced this one. */
const CLOSE_REPLACED = 4000;
/** How many times a task is retried after the trainer died under it. */
const MAX_TRAINER_RESTARTS = 2;
/** Upload attempts on one connection for retryable refusals (HASH_MISMATCH, BAD_CHUNK, TIMEOUT). */
const MAX_UPLOAD_ATTEMPTS = 3;
/** Pace chunk sends: wait while more than this is queued in the socket. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

type TrainTask = MessageOf<'task.train'>;
type ValidateTask = MessageOf<'task.validate'>;

interface ActiveTask {
  kind: 'train' | 'validate';
  taskId: string;
  roundId: string;
  ctl: AbortController & { dispose(): void };
}

/** An exactly-sized ArrayBuffer holding the view's bytes (a copy only when the view does not span its whole buffer). */
function ownBuffer(v: ArrayBufferView): ArrayBuffer {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) return v.buffer;
  return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
}

/** A random id from WebCrypto (browsers and Node 20 both have `crypto.randomUUID`). */
function randomId(prefix: string): string {
  return `${prefix}-${globalThis.crypto.randomUUID()}`;
}

/**
 * The federated-learning client core. Use the platform entry points: `FedClient` from `@fedweb/sdk-client`
 * (browsers) or from `@fedweb/sdk-client/node` (Node), which subclass this with their platform wiring.
 * @example
 * ```ts
 * const client = new FedClient({ server: 'https://fl.example.com', data: { load: () => myDataset } });
 * client.on('round', (r) => console.log(r.roundId, r.phase));
 * await client.start();
 * ```
 */
export class FedClientCore {
  readonly #opts: FedClientOptions;
  readonly #platform: FedPlatform;
  readonly #timeouts: FedClientTimeouts;
  readonly #events: TypedEmitter<FedClientEvents>;
  readonly #httpBase: string;

  #status: ClientStatus = 'idle';
  #clientId: string | undefined;
  #combinerId: string | undefined;
  #cache: ClientCache | undefined;
  #deviceKey = '';
  #stopCtl: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #startPromise: Promise<void> | undefined;
  #startSettle: { resolve(): void; reject(e: FedError): void } | undefined;
  #conn: Connection | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #offVisibility: (() => void) | undefined;
  #offSignal: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  #trainer: TrainerHandle | undefined;
  #trainerSetup: Promise<TrainerHandle> | undefined;
  #dataSet = false;
  #loadedPackage: string | undefined;
  #backend: BackendReport | undefined;

  /** Tasks run one at a time (one trainer); this chains them. */
  #queue: Promise<void> = Promise.resolve();
  readonly #active = new Map<string, ActiveTask>();
  readonly #uploading = new Set<string>();

  constructor(options: FedClientOptions, platform: FedPlatform) {
    if (!options || typeof options !== 'object') throw fedError('BAD_CONFIG', 'new FedClient(options): options must be an object with at least { server, data }');
    if (typeof options.server !== 'string') throw fedError('BAD_CONFIG', "FedClient needs `server`, the fedweb server's URL (https://... or wss://...)");
    if (!options.data || typeof options.data.load !== 'function') {
      throw fedError('BAD_CONFIG', 'FedClient needs `data`, an object with a load() method returning { x, xShape, y, yShape }');
    }
    if (options.id !== undefined && !ID_RE.test(options.id)) {
      throw fedError('BAD_CONFIG', `client id '${options.id}' is invalid: use 1-128 letters, digits and . _ : @ -`);
    }
    const backends = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];
    if (options.backend !== undefined && !backends.includes(options.backend)) {
      throw fedError('BAD_CONFIG', `backend '${String(options.backend)}' is not one of ${backends.join(', ')}`);
    }
    this.#opts = options;
    this.#platform = platform;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#httpBase = toHttpBase(options.server);
    this.#events = new TypedEmitter<FedClientEvents>((e, event) =>
      this.#warn(`a '${String(event)}' event handler threw: ${(e as Error)?.message ?? String(e)}`),
    );
  }

  /** The current status (also announced by the `status` event). */
  get status(): ClientStatus {
    return this.#status;
  }

  /** The client id (known after `start()` resolved or from `options.id`). */
  get clientId(): string | undefined {
    return this.#clientId ?? this.#opts.id;
  }

  /** The backend in use and why the others lost, once a package was loaded. */
  get backend(): BackendReport | undefined {
    return this.#backend;
  }

  /**
   * Subscribes to an event; returns the unsubscribe function. Handlers never break the client: a handler
   * that throws is logged and ignored.
   * @example
   * ```ts
   * const off = client.on('metrics', (m) => console.log(m.task, m.metrics));
   * off();
   * ```
   */
  on<K extends keyof FedClientEvents>(event: K, handler: (payload: FedClientEvents[K]) => void): () => void {
    return this.#events.on(event, handler);
  }

  /**
   * Opens the cache, then connects and keeps connecting (with backoff) until `stop()`. Resolves once the first
   * `welcome` arrived; rejects with the error if the server refuses the client for good (`UNAUTHORIZED`,
   * `FORBIDDEN`, `VERSION_MISMATCH`, `BAD_CONFIG`), or with `ABORTED` if stopped before.
   * Calling it while started returns the same promise.
   * @example
   * ```ts
   * await client.start();
   * ```
   */
  start(): Promise<void> {
    if (this.#startPromise && this.#status !== 'stopped' && this.#status !== 'failed') return this.#startPromise;
    const stopCtl = new AbortController();
    this.#stopCtl = stopCtl;
    this.#startPromise = new Promise<void>((resolve, reject) => {
      this.#startSettle = { resolve, reject };
    });
    // The caller may never await start(); a rejection is also reported through 'error' and 'status'.
    this.#startPromise.catch(() => {});
    const ext = this.#opts.signal;
    if (ext) {
      if (ext.aborted) {
        void this.stop();
        return this.#startPromise;
      }
      const onAbort = () => void this.stop();
      ext.addEventListener('abort', onAbort, { once: true });
      this.#offSignal = () => ext.removeEventListener('abort', onAbort);
    }
    this.#setStatus('starting');
    this.#loop = this.#main(stopCtl.signal).catch((e) => {
      this.#fail(toFedError(e));
    });
    return this.#startPromise;
  }

  /**
   * Stops: aborts training (AbortSignal to the trainer), closes the socket, terminates the worker, closes the cache.
   * A trained update not yet acknowledged stays in the cache and is uploaded after the next `start()` if its
   * round is still open. Safe to call more than once.
   * @example
   * ```ts
   * window.addEventListener('pagehide', () => void client.stop());
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const ctl = this.#stopCtl;
    if (!ctl || this.#status === 'stopped') return;
    const reason = fedError('ABORTED', 'FedClient.stop() was called');
    if (!ctl.signal.aborted) ctl.abort(reason);
    for (const t of this.#active.values()) t.ctl.abort(reason);
    this.#conn?.close(1000, 'client stopped');
    const t = this.#trainer;
    if (t) void t.api.abort('client stopped').catch(() => {});
    try {
      await withTimeout(Promise.allSettled([this.#loop, this.#queue]).then(() => {}), this.#timeouts.stopMs, 'stop()');
    } catch {
      // Work that does not wind down in time is cut off below by terminating the trainer.
    }
    await this.#shutdown();
    this.#startSettle?.reject(reason);
    this.#startSettle = undefined;
    this.#setStatus('stopped');
  }

  // ------------------------------------------------------------------ connection loop

  async #main(signal: AbortSignal): Promise<void> {
    await this.#openCache();
    if (signal.aborted) {
      // stop() ran while the cache was opening: it could not close what did not exist yet.
      await this.#cache?.close().catch(() => {});
      this.#cache = undefined;
      return;
    }
    const backoff = new Backoff(this.#opts.backoff);
    let connectedOnce = false;
    while (!signal.aborted) {
      let conn: Connection | undefined;
      let lostWith: FedError | undefined;
      try {
        this.#setStatus(connectedOnce ? 'reconnecting' : 'connecting');
        const token = await this.#token(signal);
        const found = await discover(this.#clientId!, this.#http(signal, this.#timeouts.discoverMs, token));
        conn = await Connection.open(
          found.url,
          this.#platform.WebSocket,
          { onMessage: (m) => this.#onMessage(m), onBadInput: (e) => this.#emitError(e) },
          { signal, timeoutMs: this.#timeouts.connectMs },
        );
        const reply = conn.waitFor((m) => m.kind === 'welcome' || m.kind === 'error', {
          timeoutMs: this.#timeouts.welcomeMs,
          signal,
          what: "the combiner's welcome",
        });
        reply.catch(() => {});
        conn.send({
          v: PROTOCOL_VERSION,
          kind: 'hello',
          clientId: this.#clientId!,
          ...(token ? { token } : {}),
          capabilities: await this.#capabilities(),
          sdkVersion: SDK_VERSION,
        });
        const welcome = await reply;
        if (welcome.kind === 'error') throw fedError(welcome.code, `the combiner refused to join: ${welcome.message}`);
        backoff.reset();
        connectedOnce = true;
        this.#conn = conn;
        this.#combinerId = welcome.combinerId;
        this.#startHeartbeat(conn, welcome.heartbeatMs);
        this.#setStatus('connected');
        this.#startSettle?.resolve();
        this.#startSettle = undefined;
        this.#resume(welcome, signal).catch((e) => this.#emitError(toFedError(e)));
        const closed = await conn.closed;
        if (closed.code === CLOSE_REPLACED) {
          // Another tab or process joined with this client id; reconnecting would evict it in turn, forever.
          throw fedError(
            'CONFLICT',
            `another FedClient joined as '${this.#clientId}' and replaced this one; only one client per id may be online (give each instance its own \`id\` or \`cache\`)`,
          );
        }
        lostWith = fedError('UNAVAILABLE', `connection to combiner ${welcome.combinerId} closed (code ${closed.code}${closed.reason ? `: ${closed.reason}` : ''})`);
      } catch (e) {
        const err = toFedError(e);
        if (signal.aborted) break;
        if (FATAL_CONNECT.has(err.code)) throw err;
        lostWith = err;
      } finally {
        this.#stopHeartbeat();
        if (this.#conn === conn) this.#conn = undefined;
        conn?.close(1000, 'reconnecting');
      }
      if (signal.aborted) break;
      const delay = backoff.next();
      if (lostWith && lostWith.code !== 'UNAVAILABLE') this.#emitError(lostWith);
      this.#setStatus('reconnecting', { retryInMs: delay, attempt: backoff.attempt, ...(lostWith ? { error: lostWith } : {}) });
      try {
        await sleep(delay, signal);
      } catch {
        break;
      }
    }
  }

  async #openCache(): Promise<void> {
    const spec = this.#opts.cache;
    let cache: ClientCache;
    if (spec === false) cache = createMemoryCache();
    else if (spec && typeof spec === 'object') cache = spec;
    else {
      try {
        cache = await withTimeout(this.#platform.openCache(spec), 10_000, 'opening the local cache');
      } catch (e) {
        this.#warn(`fedweb: the local cache is unavailable, using memory (nothing survives a reload): ${toFedError(e, 'STORAGE').message}`);
        cache = createMemoryCache();
      }
    }
    this.#cache = cache.kind === 'memory' ? cache : createFallbackCache(cache, { warn: (m) => this.#warn(m) });
    this.#deviceKey = await this.#platform.deviceKey();
    let id = this.#opts.id;
    if (!id) {
      id = await this.#cache.getClientId();
      if (!id || !ID_RE.test(id)) {
        id = randomId('c');
        await this.#cache.setClientId(id);
      }
    }
    this.#clientId = id;
  }

  async #token(signal: AbortSignal): Promise<string | undefined> {
    const t = this.#opts.token;
    if (typeof t !== 'function') return t;
    return withTimeout(Promise.resolve(t()), this.#timeouts.discoverMs, 'the token() option', signal);
  }

  #http(signal: AbortSignal, timeoutMs: number, token?: string): HttpContext {
    return { httpBase: this.#httpBase, fetch: this.#platform.fetch, token: token ?? (typeof this.#opts.token === 'string' ? this.#opts.token : undefined), signal, timeoutMs };
  }

  async #capabilities(): Promise<Capabilities> {
    let caps: Capabilities;
    try {
      caps = await this.#platform.capabilities();
    } catch {
      caps = { platform: this.#platform.name };
    }
    return withBackend({ ...caps, platform: this.#platform.name }, this.#backend);
  }

  #startHeartbeat(conn: Connection, everyMs: number): void {
    this.#stopHeartbeat();
    const beat = () => {
      void this.#capabilities()
        .then((capabilities) => {
          if (conn.isOpen) conn.send({ v: PROTOCOL_VERSION, kind: 'heartbeat', t: Date.now(), capabilities });
        })
        .catch((e) => {
          // A send racing a close: the loop reconnects; nothing else to do here.
          if (conn.isOpen) this.#emitError(toFedError(e));
        });
    };
    this.#heartbeat = setInterval(beat, everyMs);
    // Visibility matters to selection (a hidden tab may be throttled): tell the server at once.
    this.#offVisibility = this.#platform.onVisibilityChange?.(beat);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#offVisibility?.();
    this.#offVisibility = undefined;
  }

  // ------------------------------------------------------------------ inbound messages

  #onMessage(m: Message): void {
    const stop = this.#stopCtl?.signal;
    if (!stop || stop.aborted) return;
    switch (m.kind) {
      case 'task.train':
        this.#onTrainTask(m, stop);
        return;
      case 'task.validate':
        this.#enqueue({ kind: 'validate', taskId: m.taskId, roundId: m.roundId }, stop, (s) => this.#runValidate(m, s));
        return;
      case 'task.cancel':
        this.#onCancel(m);
        return;
      case 'update.ack':
        // An ack nobody waits for (it came after our timeout): the update was counted, forget it.
        void this.#cache?.deletePendingUpdate(this.#clientId!, m.uploadId).catch(() => {});
        return;
      case 'error': {
        const err = fedError(m.code, `the combiner reported: ${m.message}`, m.ref ? { ref: m.ref } : undefined);
        this.#emitError(err);
        if (FATAL.has(err.code)) this.#fail(err);
        return;
      }
      case 'welcome':
        return;
      default:
        this.#emitError(fedError('BAD_MESSAGE', `the combiner sent a '${m.kind}' message, which clients do not handle; ignored`));
    }
  }

  #onTrainTask(task: TrainTask, stop: AbortSignal): void {
    const same = [...this.#active.values()].find((t) => t.kind === 'train' && t.roundId === task.roundId);
    if (same) {
      // The server re-sent the task (e.g. after a reconnect): keep the work in progress, answer under the new task id.
      same.taskId = task.taskId;
      return;
    }
    this.#enqueue({ kind: 'train', taskId: task.taskId, roundId: task.roundId }, stop, (s, a) => this.#runTrain(task, s, a));
  }

  #onCancel(m: MessageOf<'task.cancel'>): void {
    const reason = fedError('ABORTED', `the server cancelled task ${m.taskId}: ${m.reason}`);
    for (const t of this.#active.values()) {
      if (t.taskId === m.taskId || t.roundId === m.roundId) {
        t.ctl.abort(reason);
        this.#round({ roundId: t.roundId, taskId: t.taskId, task: t.kind, phase: 'cancelled', error: reason });
      }
    }
    void this.#cache?.deletePendingTask(this.#clientId!, m.roundId).catch(() => {});
  }

  /** Runs tasks one at a time; a task's controller aborts on stop() or task.cancel. */
  #enqueue(
    info: { kind: 'train' | 'validate'; taskId: string; roundId: string },
    stop: AbortSignal,
    run: (signal: AbortSignal, active: ActiveTask) => Promise<void>,
  ): void {
    const key = `${info.kind}:${info.roundId}:${info.taskId}`;
    if (this.#active.has(key)) return;
    const active: ActiveTask = { ...info, ctl: linkedController(stop) };
    this.#active.set(key, active);
    this.#queue = this.#queue.then(async () => {
      try {
        if (active.ctl.signal.aborted) return;
        await run(active.ctl.signal, active);
      } catch (e) {
        const err = toFedError(e);
        if (!(err.code === 'ABORTED' && stop.aborted)) {
          // Not a stop (which keeps the task for a resume after reload): the task is over, forget it.
          if (active.kind === 'train') void this.#cache?.deletePendingTask(this.#clientId!, active.roundId).catch(() => {});
          this.#emitError(err);
          this.#round({ roundId: active.roundId, taskId: active.taskId, task: active.kind, phase: err.code === 'ABORTED' ? 'cancelled' : 'failed', error: err });
          this.#reportTaskError(err, active.taskId);
        }
      } finally {
        active.ctl.dispose();
        this.#active.delete(key);
        if (!stop.aborted && this.#conn && this.#active.size === 0 && this.#uploading.size === 0) this.#setStatus('connected');
      }
    });
  }

  /** Tells the combiner why a task will not be answered, so it need not wait for the deadline. */
  #reportTaskError(err: FedError, taskId: string): void {
    if (err.code === 'ABORTED') return;
    try {
      if (this.#conn?.isOpen) this.#conn.send({ v: PROTOCOL_VERSION, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: taskId });
    } catch {
      // The connection just went away; the combiner will time the task out.
    }
  }

  /** After (re)joining: resume an unacknowledged upload or an unfinished training if the combiner still has the round open. */
  async #resume(welcome: MessageOf<'welcome'>, stop: AbortSignal): Promise<void> {
    const cache = this.#cache!;
    const cid = this.#clientId!;
    const open = welcome.openRoundId;
    const pending = await cache.getPendingUpdate(cid);
    if (pending) {
      if (pending.roundId === open) {
        if (!this.#uploading.has(pending.uploadId)) {
          this.#round({ roundId: pending.roundId, taskId: pending.taskId, sessionId: pending.sessionId, task: 'train', phase: 'resumed', bytes: pending.bytes.byteLength, f32Bytes: pending.f32Bytes });
          await this.#upload(pending, stop);
        }
      } else if (!this.#uploading.has(pending.uploadId)) {
        // The combiner closed that round: it would refuse the update as STALE_ROUND.
        await cache.deletePendingUpdate(cid, pending.uploadId);
      }
    }
    const pt = await cache.getPendingTask(cid);
    if (pt) {
      const running = [...this.#active.values()].some((t) => t.kind === 'train' && t.roundId === pt.task.roundId);
      if (pt.task.roundId === open && !running && !(pending && pending.roundId === open)) {
        this.#round({ roundId: pt.task.roundId, taskId: pt.task.taskId, sessionId: pt.task.sessionId, task: 'train', phase: 'resumed' });
        this.#onTrainTask(pt.task, stop);
      } else if (pt.task.roundId !== open && !running) {
        await cache.deletePendingTask(cid, pt.task.roundId);
      }
    }
  }

  // ------------------------------------------------------------------ tasks

  async #runTrain(task: TrainTask, signal: AbortSignal, active: ActiveTask): Promise<void> {
    const cache = this.#cache!;
    const cid = this.#clientId!;
    const base = { roundId: task.roundId, sessionId: task.sessionId, task: 'train' as const };

    // Trained before a reload or cut, not yet acknowledged: upload that instead of training again.
    const pending = await cache.getPendingUpdate(cid);
    if (pending && pending.roundId === task.roundId) {
      await this.#upload({ ...pending, taskId: active.taskId }, signal);
      return;
    }
    this.#round({ ...base, taskId: active.taskId, phase: 'started' });
    await cache.putPendingTask({ clientId: cid, task, storedAt: Date.now() });

    this.#setStatus('downloading');
    await this.#getModel(task.model, signal);

    // Per-session client state carried across rounds and reloads: the top-k residual and SCAFFOLD's c_i.
    const residualKey = `topk|${cid}|${task.sessionId}`;
    const controlKey = `scaffold|${cid}|${task.sessionId}`;
    const strategyRef = BlobRefSchema.safeParse(task.settings.strategy['tensors']);
    const timeoutMs = Math.min(this.#timeouts.trainMs, Math.max(0, task.deadline - Date.now()) + 60_000);
    const result = await this.#withTrainer(task.package, signal, async (t) => {
      const model = (await this.#getModel(task.model, signal)).bytes;
      const residual = task.settings.encoding === 'topk' ? (await cache.getResidual(residualKey))?.data : undefined;
      const control = (await cache.getResidual(controlKey))?.data;
      const strategyTensors = strategyRef.success
        ? await fetchVerified(strategyRef.data, 'HASH_MISMATCH', this.#http(signal, this.#timeouts.downloadMs, await this.#token(signal)))
        : undefined;
      this.#setStatus('training');
      return this.#call(
        t,
        `training round ${task.roundId}`,
        timeoutMs,
        signal,
        t.train(
          {
            roundId: task.roundId,
            model,
            settings: task.settings,
            ...(residual ? { residual: ownBuffer(residual) } : {}),
            ...(control ? { controlVariate: ownBuffer(control) } : {}),
            ...(strategyTensors ? { strategyTensors: ownBuffer(strategyTensors) } : {}),
          },
          (p) => this.#events.emit('progress', { ...p, roundId: task.roundId, taskId: active.taskId }),
        ),
      );
    });
    if (result.residual) await cache.putResidual({ key: residualKey, data: new Float32Array(result.residual), storedAt: Date.now() });
    if (result.controlVariate) await cache.putResidual({ key: controlKey, data: new Float32Array(result.controlVariate), storedAt: Date.now() });

    const bytes = new Uint8Array(result.update);
    const update: PendingUpdate = {
      clientId: cid,
      sessionId: task.sessionId,
      taskId: active.taskId,
      roundId: task.roundId,
      uploadId: randomId('u'),
      bytes: result.update,
      sha256: await sha256Hex(bytes),
      numExamples: result.numExamples,
      metrics: result.metrics,
      trainMs: result.trainMs,
      f32Bytes: result.f32Bytes,
      deadline: task.deadline,
      storedAt: Date.now(),
    };
    this.#events.emit('metrics', { roundId: task.roundId, taskId: active.taskId, task: 'train', numExamples: result.numExamples, metrics: result.metrics, trainMs: result.trainMs });
    this.#round({ ...base, taskId: active.taskId, phase: 'trained', bytes: bytes.byteLength, f32Bytes: result.f32Bytes });
    // Persist before sending: a reload or cut from here on resumes the upload instead of losing the work.
    await cache.putPendingUpdate(update);
    await cache.deletePendingTask(cid, task.roundId);
    await this.#upload(update, signal);
  }

  async #runValidate(task: ValidateTask, signal: AbortSignal): Promise<void> {
    const base = { roundId: task.roundId, taskId: task.taskId, sessionId: task.sessionId, task: 'validate' as const };
    this.#round({ ...base, phase: 'started' });
    this.#setStatus('downloading');
    await this.#getModel(task.model, signal);
    const result = await this.#withTrainer(task.package, signal, async (t) => {
      const model = (await this.#getModel(task.model, signal)).bytes;
      this.#setStatus('validating');
      return this.#call(t, `validating round ${task.roundId}`, this.#timeouts.validateMs, signal, t.validate(model));
    });
    this.#events.emit('metrics', { roundId: task.roundId, taskId: task.taskId, task: 'validate', numExamples: result.numExamples, metrics: result.metrics });
    if (result.numExamples > 0) {
      const conn = this.#conn;
      if (!conn?.isOpen) throw fedError('UNAVAILABLE', `validation of round ${task.roundId} finished while disconnected; it is not resent`);
      conn.send({ v: PROTOCOL_VERSION, kind: 'validation', taskId: task.taskId, roundId: task.roundId, numExamples: result.numExamples, metrics: result.metrics });
    }
    this.#round({ ...base, phase: 'validated' });
  }

  /**
   * Sends `update` then the frame's chunks, and waits for `update.ack` or a typed `error` about it.
   * The pending update stays cached until the combiner acknowledges it or refuses it for good; if the
   * connection is down, the upload resumes after the next welcome that says its round is still open.
   */
  async #upload(p: PendingUpdate, signal: AbortSignal): Promise<void> {
    if (this.#uploading.has(p.uploadId)) return;
    this.#uploading.add(p.uploadId);
    const cache = this.#cache!;
    const base = { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train' as const, bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes };
    try {
      for (let attempt = 1; ; attempt++) {
        const conn = this.#conn;
        if (!conn?.isOpen) {
          this.#round({ ...base, phase: 'deferred', error: fedError('UNAVAILABLE', 'not connected; the update is kept and uploaded after reconnecting if its round is still open') });
          return;
        }
        this.#setStatus('uploading');
        const frame = new Uint8Array(p.bytes);
        const chunks = splitIntoChunks(frame, { uploadId: p.uploadId });
        const reply = conn.waitFor(
          (m) =>
            (m.kind === 'update.ack' && m.uploadId === p.uploadId) ||
            (m.kind === 'error' && (m.ref === p.uploadId || m.ref === p.taskId || m.ref === p.roundId)),
          { timeoutMs: this.#timeouts.ackMs, signal, what: `update.ack for upload ${p.uploadId}` },
        );
        reply.catch(() => {});
        let answer: Message;
        try {
          conn.send({
            v: PROTOCOL_VERSION,
            kind: 'update',
            taskId: p.taskId,
            roundId: p.roundId,
            uploadId: p.uploadId,
            numExamples: p.numExamples,
            metrics: p.metrics,
            sha256: p.sha256,
            byteLength: frame.byteLength,
            chunkCount: chunks.length,
            trainMs: p.trainMs,
          });
          for (const chunk of chunks) {
            await conn.drain(MAX_BUFFERED_BYTES, signal);
            conn.sendBinary(chunk);
          }
          this.#round({ ...base, phase: 'uploaded' });
          answer = await reply;
        } catch (e) {
          const err = toFedError(e);
          if (err.code === 'TIMEOUT' && attempt < MAX_UPLOAD_ATTEMPTS) continue;
          if (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT' || err.code === 'ABORTED') {
            // Connection lost or stopping: the update stays cached for the next welcome.
            this.#round({ ...base, phase: 'deferred', error: err });
            return;
          }
          throw err;
        }
        if (answer.kind === 'update.ack') {
          await cache.deletePendingUpdate(p.clientId, p.uploadId);
          this.#round({ ...base, phase: 'acknowledged' });
          return;
        }
        if (answer.kind !== 'error') throw fedError('INTERNAL', `unexpected ${answer.kind} while uploading`);
        const err = fedError(answer.code, `the combiner refused update ${p.uploadId} for round ${p.roundId}: ${answer.message}`);
        if (err.code === 'DUPLICATE_UPDATE') {
          // Already counted (our ack got lost in a cut): done.
          await cache.deletePendingUpdate(p.clientId, p.uploadId);
          this.#round({ ...base, phase: 'acknowledged' });
          return;
        }
        if (err.retryable && attempt < MAX_UPLOAD_ATTEMPTS) continue;
        // A decision of the server (STALE_ROUND, NOT_SELECTED, SHAPE_MISMATCH, ...): respect it, drop the update.
        await cache.deletePendingUpdate(p.clientId, p.uploadId);
        this.#emitError(err);
        this.#round({ ...base, phase: 'refused', error: err });
        if (FATAL.has(err.code)) this.#fail(err);
        return;
      }
    } finally {
      this.#uploading.delete(p.uploadId);
    }
  }

  // ------------------------------------------------------------------ trainer

  /**
   * Runs `fn` against a trainer with the package loaded. When the trainer dies under it (`WORKER_DIED`), the
   * trainer is restarted (data and package reloaded) and `fn` runs again, up to {@link MAX_TRAINER_RESTARTS} times.
   */
  async #withTrainer<T>(pkg: BlobRef, signal: AbortSignal, fn: (t: TrainerApi) => Promise<T>): Promise<T> {
    for (let restarts = 0; ; restarts++) {
      try {
        const t = await this.#ensureTrainer(pkg, signal);
        return await fn(t.api);
      } catch (e) {
        const err = toFedError(e);
        if (err.code === 'WORKER_DIED' || err.code === 'TIMEOUT') {
          // A dead or hung trainer is replaced; a hung one must not keep the next task waiting.
          await this.#disposeTrainer();
          if (err.code === 'WORKER_DIED' && restarts < MAX_TRAINER_RESTARTS && !signal.aborted) {
            this.#emitError(fedError('WORKER_DIED', `${err.message}; restarting the trainer and resuming`, undefined, err));
            continue;
          }
        }
        throw err;
      }
    }
  }

  /** One trainer call bounded by a timeout and the task's signal; on abort or timeout the trainer is told to stop. */
  async #call<T>(t: TrainerApi, what: string, timeoutMs: number, signal: AbortSignal, work: Promise<T>): Promise<T> {
    work.catch(() => {});
    try {
      return await withTimeout(work, timeoutMs, what, signal);
    } catch (e) {
      const err = toFedError(e);
      if (err.code === 'ABORTED' || err.code === 'TIMEOUT') {
        // Best effort: a dead trainer cannot answer, and that must not mask the abort.
        await withTimeout(t.abort(err.message), 2000, 'trainer.abort()').catch(() => {});
      }
      throw err;
    }
  }

  /** Creates the trainer if needed, loads the data into it, and loads the package `pkg` (choosing the backend). */
  async #ensureTrainer(pkg: BlobRef, signal: AbortSignal): Promise<TrainerHandle> {
    if (this.#trainer && this.#loadedPackage === pkg.sha256) return this.#trainer;
    const ms = this.#timeouts.trainerSetupMs;
    if (!this.#trainer) {
      this.#trainerSetup ??= (async () => {
        const factory = this.#opts.trainer ?? this.#platform.createTrainer;
        const t = await withTimeout(Promise.resolve(factory()), ms, 'starting the trainer', signal);
        this.#dataSet = false;
        this.#loadedPackage = undefined;
        // A trainer that dies between tasks is dropped now, so the next task starts a fresh one.
        void t.died?.then(() => {
          if (this.#trainer === t) void this.#disposeTrainer();
        });
        return t;
      })().finally(() => {
        this.#trainerSetup = undefined;
      });
      this.#trainer = await this.#trainerSetup;
    }
    const handle = this.#trainer;
    const t = handle.api;
    const { code, manifest } = await this.#getPackage(pkg, signal);
    const choice = this.#opts.backend ?? 'auto';
    const key = `${pkg.sha256}|${this.#deviceKey}`;
    const cached = choice === 'auto' ? await this.#cache!.getBackend(key) : undefined;
    const wasm = this.#opts.wasmPaths ? { wasmPaths: this.#opts.wasmPaths } : {};
    let report: BackendReport;
    try {
      await this.#call(t, 'trainer.init', ms, signal, t.init({ backend: cached ? cached.report.chosen : choice, ...wasm }));
      report = await this.#call(t, 'loading the compute package', ms, signal, t.loadPackage(code, manifest));
      if (cached) report = { ...cached.report, cached: true };
    } catch (e) {
      const err = toFedError(e);
      if (!cached || err.code !== 'BACKEND_UNAVAILABLE') throw err;
      // The cached decision no longer holds (browser update, GPU blocklisted): probe again.
      await this.#call(t, 'trainer.init', ms, signal, t.init({ backend: 'auto', ...wasm }));
      const again = await this.#getPackage(pkg, signal);
      report = await this.#call(t, 'loading the compute package', ms, signal, t.loadPackage(again.code, again.manifest));
    }
    if (choice === 'auto' && !report.cached) await this.#cache!.putBackend({ key, report, storedAt: Date.now() });
    if (!this.#dataSet) {
      const data = checkDataset(await withTimeout(Promise.resolve(this.#opts.data.load()), this.#timeouts.dataMs, 'data.load()', signal));
      await this.#call(t, 'trainer.setData', ms, signal, t.setData(data));
      this.#dataSet = true;
    }
    this.#loadedPackage = pkg.sha256;
    this.#backend = report;
    this.#setStatus(this.#status, { backend: report });
    return handle;
  }

  async #disposeTrainer(): Promise<void> {
    const t = this.#trainer;
    this.#trainer = undefined;
    this.#loadedPackage = undefined;
    this.#dataSet = false;
    if (!t) return;
    // terminate() disposes the trainer's tensors (in-process) or ends the worker; bounded, a hung one is abandoned.
    await withTimeout(Promise.resolve().then(() => t.terminate()), 5000, 'terminating the trainer').catch(() => {});
  }

  // ------------------------------------------------------------------ blobs (cache first, then HTTP)

  /** The compute package: from the cache when its hash matches, else downloaded and verified (PACKAGE_INVALID on mismatch). */
  async #getPackage(ref: BlobRef, signal: AbortSignal): Promise<{ code: ArrayBuffer; manifest: ComputePackageManifest }> {
    const cache = this.#cache!;
    const hit = await cache.getPackage(ref.sha256);
    if (hit && (await sha256Hex(new Uint8Array(hit.code))) === ref.sha256) return { code: hit.code, manifest: hit.manifest };
    const token = await this.#token(signal);
    const bytes = await fetchVerified(ref, 'PACKAGE_INVALID', this.#http(signal, this.#timeouts.downloadMs, token));
    const manifest = await this.#manifest(ref, bytes, signal, token);
    const code = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await cache.putPackage({ sha256: ref.sha256, code, manifest, storedAt: Date.now() });
    // The cache keeps `code`; hand the trainer its own copy (it transfers it).
    return { code: code.slice(0), manifest };
  }

  /**
   * The package manifest: the server's active package (`GET /api/packages/active`) when it is this one, else one
   * derived from the BlobRef (default entry names; the session's settings already carry the package defaults).
   */
  async #manifest(ref: BlobRef, bytes: Uint8Array, signal: AbortSignal, token: string | undefined): Promise<ComputePackageManifest> {
    const fallback = ComputePackageManifestSchema.parse({ name: ref.id, version: '0', sha256: ref.sha256, bytes: bytes.byteLength });
    try {
      const res = await withTimeout(
        (s) => this.#platform.fetch(`${this.#httpBase}/api/packages/active`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: s }),
        this.#timeouts.downloadMs,
        'GET /api/packages/active',
        signal,
      );
      if (!res.ok) return fallback;
      const body = (await res.json()) as { package?: { sha256?: unknown; manifest?: unknown } };
      if (body.package?.sha256 !== ref.sha256) return fallback;
      const parsed = ComputePackageManifestSchema.safeParse(body.package.manifest);
      return parsed.success && parsed.data.sha256 === ref.sha256 ? parsed.data : fallback;
    } catch {
      if (signal.aborted) throw abortReason(signal);
      return fallback;
    }
  }

  /** The global model: from the cache when its hash matches, else downloaded, verified (HASH_MISMATCH) and cached. */
  async #getModel(ref: BlobRef, signal: AbortSignal): Promise<{ bytes: ArrayBuffer }> {
    const cache = this.#cache!;
    const hit = await cache.getModel();
    if (hit && hit.sha256 === ref.sha256 && (await sha256Hex(new Uint8Array(hit.bytes))) === ref.sha256) return { bytes: hit.bytes };
    const token = await this.#token(signal);
    const bytes = await fetchVerified(ref, 'HASH_MISMATCH', this.#http(signal, this.#timeouts.downloadMs, token));
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await cache.putModel({ id: ref.id, sha256: ref.sha256, bytes: buf, storedAt: Date.now() });
    return { bytes: buf.slice(0) };
  }

  // ------------------------------------------------------------------ events and teardown

  #setStatus(status: ClientStatus, extra: Omit<StatusEvent, 'status'> = {}): void {
    this.#status = status;
    const ev: StatusEvent = { status, ...extra };
    if (this.#clientId) ev.clientId = this.#clientId;
    if (this.#combinerId && this.#conn) ev.combinerId = this.#combinerId;
    if (this.#backend && !ev.backend) ev.backend = this.#backend;
    if (this.#cache) ev.cache = this.#cache.kind;
    this.#events.emit('status', ev);
  }

  #round(ev: RoundEvent): void {
    this.#events.emit('round', ev);
  }

  #emitError(err: FedError): void {
    if (this.#events.listenerCount('error') === 0) this.#warn(`fedweb: ${err.code}: ${err.message}`);
    this.#events.emit('error', err);
  }

  #warn(message: string): void {
    try {
      (this.#opts.logger ?? console).warn(message);
    } catch {
      // A broken logger must not break the client.
    }
  }

  /** A non-retryable refusal: stop everything and report `failed`. */
  #fail(err: FedError): void {
    if (this.#status === 'failed' || this.#status === 'stopped') return;
    this.#emitError(err);
    this.#stopCtl?.abort(err);
    for (const t of this.#active.values()) t.ctl.abort(err);
    this.#conn?.close(1000, 'client failed');
    this.#startSettle?.reject(err);
    this.#startSettle = undefined;
    this.#status = 'failed';
    void this.#shutdown().finally(() => this.#setStatus('failed', { error: err }));
  }

  async #shutdown(): Promise<void> {
    this.#stopHeartbeat();
    this.#offSignal?.();
    this.#offSignal = undefined;
    await this.#disposeTrainer();
    const cache = this.#cache;
    this.#cache = undefined;
    await cache?.close().catch(() => {});
  }
}

