/**
 * The combiner (reference 000, tier 2): owns its clients' sockets, runs its part of each round and hands a
 * partial aggregate to the reducer. It is stateless beyond the current round and knows nothing of the other
 * combiners. The embedded combiner (inside `fedweb server`) and an external one (`fedweb combiner`) are both
 * this class; only the pipe to the controller differs (in-process pair or WebSocket).
 *
 * Memory does not grow with the number of clients: each update is folded into one running weighted sum
 * (`strategy.foldUpdate` -> codec `foldInto`) as soon as its last chunk arrives, and inbound sockets are
 * paused while more than `maxInflightBytes` of update bytes wait to be folded.
 *
 * Asynchronous strategies (`mode: 'async'`, FedBuff) run as a *stream* instead of round parts (see
 * "asynchronous stream" below): clients train continuously on the newest model version, and every folded
 * update is forwarded to the controller at once.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  ChunkAssembler,
  fedError,
  parseChunk,
  readFrameHeader,
  toFedError,
  type BlobRef,
  type Capabilities,
  type ClientInfo,
  type Compressor,
  type FedError,
  type Message,
  type MessageOf,
  type Metrics,
  type TensorSpec,
} from '@fedweb/codec';
import { authorizeClientId, type Authenticator } from '../auth.js';
import { isEligible, SelectionPolicySchema, type SelectionPolicy } from '../config.js';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { createFoldTools, encodePartial, getStrategy } from '../strategy/index.js';
import type { FoldTools, PartialAggregate, Strategy, StrategyContext } from '../strategy/types.js';
import { chunkFrame, guard, sendChunks, wsPeer, type Peer } from '../transport.js';

export interface CombinerOptions {
  combinerId: string;
  /** The WebSocket URL clients dial: absolute (`ws://host:port/ws/client`) or a path on the controller's origin. */
  clientUrl: string;
  auth: Authenticator;
  /** Inflates deflated update frames (`nodeZlibCompressor`). */
  compressor: Compressor;
  /** Fetches a blob the controller announced (the global model), SHA-256 verified. */
  fetchBlob(ref: BlobRef, signal: AbortSignal): Promise<Uint8Array>;
  log: Logger;
  /** Heartbeat interval told to clients; a client silent for 3x this is dropped. Default 5000. */
  heartbeatMs?: number;
  /** Largest update frame accepted (bytes); default derived from the model (8.5 bytes/param + 1 MiB), capped at 512 MiB. */
  maxUploadBytes?: number;
  /** Update bytes held before folding beyond which client sockets are paused. Default 256 MiB. */
  maxInflightBytes?: number;
  /** Most connected clients. Default 20,000. */
  maxClients?: number;
  /** Folds running at once (inflate runs on the libuv pool). Default 2. */
  foldConcurrency?: number;
  /** A socket that sends no `hello` within this is closed. Default 10 s. */
  helloTimeoutMs?: number;
  /**
   * How long a selected client that disconnects mid-round keeps its slot (default 15 s; 0 = none). A browser
   * tab that reloads comes back with the same clientId and resumes its upload; without a grace a lone client's
   * reload would close the round. The round deadline still applies: the grace never extends a round.
   */
  reconnectGraceMs?: number;
  /**
   * Refused uploads a selected client may make in one round (default 3). A retryable refusal (`HASH_MISMATCH`,
   * `BAD_CHUNK`) lets it resend; once it has used its attempts it is out of the round (`task.cancel`, then
   * `NOT_SELECTED`), so it can neither keep the combiner reassembling and hashing bad uploads nor hold the round
   * open. Reconnecting does not reset the count.
   */
  maxUploadAttempts?: number;
}

interface Upload {
  msg: MessageOf<'update'>;
  assembler: ChunkAssembler;
  bytes: number;
}

interface ClientConn {
  peer: Peer;
  clientId: string | null;
  capabilities: Capabilities;
  connectedAt: number;
  lastSeen: number;
  upload: Upload | null;
  /** Bytes this connection holds in uploads or frames waiting to fold. */
  heldBytes: number;
  paused: boolean;
  closed: boolean;
  helloTimer: NodeJS.Timeout | null;
}

interface RoundPart {
  sessionId: string;
  roundId: string;
  strategy: Strategy<unknown, unknown>;
  options: unknown;
  ctx: StrategyContext;
  tools: FoldTools;
  partial: PartialAggregate;
  start: MessageOf<'round.start'>;
  selected: Set<string>;
  taskIds: Map<string, string>;
  delivered: Set<string>;
  folding: Set<string>;
  failed: Set<string>;
  /** Refused uploads per client this round (bounded by `maxUploadAttempts`; survives reconnects). */
  badUploads: Map<string, number>;
  /** Selected clients that disconnected and may still come back: clientId -> grace timer. */
  away: Map<string, NodeJS.Timeout>;
  quota: number;
  state: 'collecting' | 'closing' | 'closed';
  timer: NodeJS.Timeout | null;
  inflight: number;
  drained: Array<() => void>;
  metricSums: Record<string, number>;
  metricWeights: Record<string, number>;
  refusedStale: number;
  refused: number;
  firstUpdateAt: number | null;
  lastUpdateAt: number | null;
  maxUploadBytes: number;
  maxUpdateNorm: number | undefined;
}

/** One training task of an asynchronous stream (FedBuff): the client trains on the model of `round - 1`. */
interface AsyncTask {
  taskId: string;
  roundId: string;
  clientId: string;
  /** The version being built when the task was issued (its base model is version `round - 1`). */
  round: number;
  model: BlobRef;
  settings: MessageOf<'round.start'>['settings'];
  deadline: number;
  /** Refused uploads for this task (bounded by `maxUploadAttempts`). */
  attempts: number;
}

/**
 * This combiner's part of an asynchronous session (strategy `mode: 'async'`, FedBuff): no round barrier.
 * Every eligible client trains on the newest version this combiner knows; each folded update (or each batch of
 * `forwardEvery`) is forwarded at once to the controller as a `round.partial` of the stream, folded with its
 * staleness = versions between its base model and the newest one known here when it arrived.
 */
interface AsyncStream {
  streamId: string;
  sessionId: string;
  strategy: Strategy<unknown, unknown>;
  options: unknown;
  ctx: StrategyContext;
  tools: FoldTools;
  start: MessageOf<'round.start'>;
  /** The version being built now (the newest model is version `round - 1`). */
  round: number;
  maxStaleness: number;
  forwardEvery: number;
  taskTimeoutMs: number;
  policy: SelectionPolicy;
  /** The outstanding task of each client (a newer one supersedes it). */
  tasks: Map<string, AsyncTask>;
  tasksById: Map<string, AsyncTask>;
  folding: Set<string>;
  /** Folded updates not forwarded yet. */
  batch: PartialAggregate;
  metricSums: Record<string, number>;
  metricWeights: Record<string, number>;
  refusedStale: number;
  refused: number;
  firstUpdateAt: number | null;
  lastUpdateAt: number | null;
  maxUploadBytes: number;
  maxUpdateNorm: number | undefined;
  /** Forwards go out one after the other. */
  sending: Promise<void>;
  state: 'open' | 'closed';
}

interface ValidationPart {
  roundId: string;
  start: MessageOf<'validate.start'>;
  expected: Set<string>;
  taskIds: Map<string, string>;
  done: Set<string>;
  metricSums: Record<string, number>;
  numExamples: number;
  count: number;
  timer: NodeJS.Timeout | null;
  closed: boolean;
}

const DEFAULT_HEARTBEAT_MS = 5000;
const DEFAULT_RECONNECT_GRACE_MS = 15_000;
const DEFAULT_MAX_UPLOAD_ATTEMPTS = 3;
const ROUND_ID = /\.r(\d+)\./;

const shortId = (prefix: string): string => `${prefix}${randomBytes(6).toString('hex')}`;

/**
 * Parses the round number out of a controller round id (`<session>.r<round>.<nonce>`), 1 if absent.
 * @example
 * ```ts
 * roundNumberOf('s1.r3.ab12cd34') // 3
 * ```
 */
export function roundNumberOf(roundId: string): number {
  const m = ROUND_ID.exec(roundId);
  return m ? Number(m[1]) : 1;
}

/**
 * The layout (names and shapes, in order) of a model frame, from its header only.
 * @example
 * ```ts
 * layoutOf(seedFrame) // [{ name: 'w0', shape: [784, 128] }, ...]
 * ```
 */
export function layoutOf(frame: Uint8Array): TensorSpec[] {
  const header = readFrameHeader(frame);
  return header.tensors.map((t) => ({ name: t.name, shape: [...t.shape] }));
}

/**
 * One combiner. Attach client sockets with {@link Combiner.attachClient} and the controller link with
 * {@link Combiner.attachController}.
 * @example
 * ```ts
 * const combiner = new Combiner({ combinerId: 'c2', clientUrl: 'ws://10.0.0.2:9000/ws/client', auth, compressor, fetchBlob, log });
 * app.get('/ws/client', { websocket: true }, (socket) => combiner.attachClient(socket));
 * combiner.attachController(peerToController);
 * ```
 */
export class Combiner {
  readonly id: string;
  readonly heartbeatMs: number;
  readonly reconnectGraceMs: number;
  readonly maxUploadAttempts: number;
  /** The URL announced to the controller (set once the client port is known). */
  clientUrl: string;
  private readonly log: Logger;
  private readonly clients = new Map<string, ClientConn>();
  private readonly conns = new Set<ClientConn>();
  private controller: Peer | null = null;
  private round: RoundPart | null = null;
  /** The asynchronous stream (FedBuff sessions), if one is open. */
  private stream: AsyncStream | null = null;
  /** Async starts are handled one after the other (a new stream awaits the model's layout). */
  private asyncChain: Promise<void> = Promise.resolve();
  /** The selection policy of the last `round.prepare` (an async stream keeps tasking clients that pass it). */
  private lastPrepare: { roundId: string; policy: SelectionPolicy } | null = null;
  private validation: ValidationPart | null = null;
  private readonly closedRounds: string[] = [];
  private inflightBytes = 0;
  private readonly maxInflightBytes: number;
  private readonly pausedConns = new Set<ClientConn>();
  private foldSlots: number;
  private readonly foldQueue: Array<() => void> = [];
  private statusTimer: NodeJS.Timeout | null = null;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly keepaliveTimer: NodeJS.Timeout;
  private modelCache: { sha256: string; layout: TensorSpec[] } | null = null;
  private closing = false;
  /** Partial uploads in flight to the controller (so close() can wait for them in tests). */
  private readonly pendingSends = new Set<Promise<void>>();

  constructor(private readonly opts: CombinerOptions) {
    this.id = opts.combinerId;
    this.clientUrl = opts.clientUrl;
    this.log = opts.log;
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.reconnectGraceMs = Math.max(0, opts.reconnectGraceMs ?? DEFAULT_RECONNECT_GRACE_MS);
    this.maxUploadAttempts = Math.max(1, Math.floor(opts.maxUploadAttempts ?? DEFAULT_MAX_UPLOAD_ATTEMPTS));
    this.maxInflightBytes = opts.maxInflightBytes ?? 256 * 1024 * 1024;
    this.foldSlots = opts.foldConcurrency ?? 2;
    this.sweepTimer = setInterval(() => guard(this.log, 'heartbeat sweep', () => this.sweep()), Math.max(50, Math.floor(this.heartbeatMs / 2)));
    this.keepaliveTimer = setInterval(() => guard(this.log, 'status keepalive', () => this.sendStatus()), Math.max(1000, this.heartbeatMs));
    this.sweepTimer.unref();
    this.keepaliveTimer.unref();
  }

  // ------------------------------------------------------------------ introspection

  /** Connected clients that sent `hello`. */
  clientInfos(): ClientInfo[] {
    return [...this.clients.values()].map((c) => ({
      clientId: c.clientId as string,
      capabilities: c.capabilities,
      connectedAt: c.connectedAt,
      lastSeen: c.lastSeen,
    }));
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** The round this combiner is collecting, if any. */
  get openRoundId(): string | null {
    return this.round && this.round.state === 'collecting' ? this.round.roundId : null;
  }

  /** The open asynchronous stream and the version it builds now (its newest model is `round - 1`), if any. */
  get asyncStream(): { streamId: string; round: number } | null {
    return this.stream && this.stream.state === 'open' ? { streamId: this.stream.streamId, round: this.stream.round } : null;
  }

  // ------------------------------------------------------------------ controller link

  /**
   * Uses `peer` as the link to the controller: announces this combiner and its clients. Messages from the
   * controller must be passed to {@link Combiner.handleControllerMessage} / `handleControllerClosed` by the
   * owner of the peer (see `connectController`).
   */
  attachController(peer: Peer, token?: string): void {
    this.controller = peer;
    peer.send({ v: 1, kind: 'combiner.hello', combinerId: this.id, url: this.clientUrl, ...(token ? { token } : {}) });
    this.sendStatus();
  }

  /** The controller link dropped: whatever round was open can no longer be reduced, so it is abandoned. */
  handleControllerClosed(): void {
    this.controller = null;
    if (this.round && this.round.state !== 'closed') this.abortRound(this.round, 'controller link lost');
    if (this.stream) this.closeStream(this.stream, 'controller link lost');
    if (this.validation && !this.validation.closed) this.finishValidation(this.validation, false);
  }

  handleControllerMessage(msg: Message): void {
    switch (msg.kind) {
      case 'round.prepare':
        return this.onPrepare(msg);
      case 'round.start':
        return void this.onStart(msg).catch((e: unknown) => this.failStart(msg.roundId, toFedError(e)));
      case 'round.abort':
        if (this.round && this.round.roundId === msg.roundId) this.abortRound(this.round, msg.reason);
        if (this.stream && this.stream.streamId === msg.roundId) this.closeStream(this.stream, msg.reason);
        return;
      case 'validate.start':
        return this.onValidateStart(msg);
      case 'error':
        this.log.warn({ code: msg.code, ref: msg.ref }, `controller says: ${msg.message}`);
        return;
      default:
        this.log.warn({ kind: msg.kind }, 'unexpected message from the controller');
        this.controller?.send({ v: 1, kind: 'error', code: 'BAD_MESSAGE', message: `a combiner does not accept '${msg.kind}'` });
    }
  }

  private sendToController(msg: Parameters<Peer['send']>[0]): boolean {
    if (!this.controller?.open) return false;
    return this.controller.send(msg);
  }

  /** Announces the client list now (debounced by callers through {@link scheduleStatus}). */
  private sendStatus(): void {
    if (this.statusTimer) {
      clearTimeout(this.statusTimer);
      this.statusTimer = null;
    }
    this.sendToController({ v: 1, kind: 'combiner.status', clients: this.clientInfos() });
  }

  private scheduleStatus(): void {
    if (this.statusTimer || this.closing) return;
    this.statusTimer = setTimeout(() => guard(this.log, 'status', () => this.sendStatus()), 100);
    this.statusTimer.unref();
  }

  // ------------------------------------------------------------------ clients

  /**
   * Takes over a client WebSocket. The first message must be `hello` (within `helloTimeoutMs`).
   * `httpToken` is a bearer token from the upgrade request (header or `?token=`), used when `hello` has none.
   */
  attachClient(ws: WebSocket, httpToken?: string): void {
    if (this.closing) {
      ws.close(1001, 'combiner shutting down');
      return;
    }
    const now = Date.now();
    const conn: ClientConn = {
      peer: null as unknown as Peer,
      clientId: null,
      capabilities: {},
      connectedAt: now,
      lastSeen: now,
      upload: null,
      heldBytes: 0,
      paused: false,
      closed: false,
      helloTimer: null,
    };
    let helloPending = false;
    conn.peer = wsPeer(ws, this.log, {
      message: (msg) => {
        conn.lastSeen = Date.now();
        if (conn.clientId === null) {
          if (msg.kind !== 'hello' || helloPending) {
            this.sendError(conn, fedError('BAD_MESSAGE', helloPending ? 'wait for welcome before sending more' : 'the first message must be hello'));
            return;
          }
          helloPending = true;
          void this.onHello(conn, msg, httpToken).finally(() => {
            helloPending = false;
          });
          return;
        }
        this.onClientMessage(conn, msg);
      },
      binary: (bytes) => {
        conn.lastSeen = Date.now();
        this.onClientBinary(conn, bytes);
      },
      close: () => this.onClientClosed(conn),
    });
    conn.helloTimer = setTimeout(() => {
      if (conn.clientId === null && !conn.closed) {
        this.sendError(conn, fedError('TIMEOUT', 'no hello received'));
        conn.peer.close(4408, 'hello timeout');
      }
    }, this.opts.helloTimeoutMs ?? 10_000);
    conn.helloTimer.unref();
    this.conns.add(conn);
  }

  private async onHello(conn: ClientConn, hello: MessageOf<'hello'>, httpToken?: string): Promise<void> {
    try {
      const principal = await this.opts.auth.verify(hello.token ?? httpToken);
      authorizeClientId(principal, hello.clientId);
    } catch (e) {
      const err = toFedError(e);
      this.log.warn({ clientId: hello.clientId, code: err.code }, `client refused: ${err.message}`);
      this.sendError(conn, err);
      conn.peer.close(4401, err.code);
      return;
    }
    if (conn.closed) return;
    if (this.clients.size >= (this.opts.maxClients ?? 20_000) && !this.clients.has(hello.clientId)) {
      this.sendError(conn, fedError('UNAVAILABLE', 'this combiner is full'));
      conn.peer.close(4503, 'full');
      return;
    }
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    const old = this.clients.get(hello.clientId);
    if (old && old !== conn) {
      // A reconnect with the same id replaces the old socket (no ghost); its partial upload is dropped.
      this.dropUpload(old);
      old.clientId = null;
      old.peer.close(4000, 'replaced by a new connection');
      this.log.info({ clientId: hello.clientId }, 'client reconnected, old socket replaced');
    }
    conn.clientId = hello.clientId;
    conn.capabilities = hello.capabilities;
    conn.lastSeen = Date.now();
    this.clients.set(hello.clientId, conn);
    const round = this.round;
    const pendingTask =
      round && round.state === 'collecting' && round.selected.has(hello.clientId) && !round.delivered.has(hello.clientId) && !this.outOfAttempts(round, hello.clientId);
    const st = this.stream && this.stream.state === 'open' ? this.stream : null;
    const asyncTask = st?.tasks.get(hello.clientId);
    const openRoundId = pendingTask ? round.roundId : asyncTask && !this.tooStale(st as AsyncStream, asyncTask) ? asyncTask.roundId : undefined;
    conn.peer.send({
      v: 1,
      kind: 'welcome',
      clientId: hello.clientId,
      combinerId: this.id,
      heartbeatMs: this.heartbeatMs,
      ...(openRoundId ? { openRoundId } : {}),
    });
    // An async stream: the same task again (a reloaded client resumes its upload), or a fresh one.
    if (st) this.taskIdle(st, conn);
    if (round) this.endGrace(round, hello.clientId);
    if (pendingTask) {
      round.failed.delete(hello.clientId);
      this.sendTrainTask(round, conn);
    }
    const v = this.validation;
    if (v && !v.closed && v.expected.has(hello.clientId) && !v.done.has(hello.clientId)) this.sendValidateTask(v, conn);
    this.scheduleStatus();
  }

  private onClientMessage(conn: ClientConn, msg: Message): void {
    switch (msg.kind) {
      case 'heartbeat':
        if (msg.capabilities) conn.capabilities = msg.capabilities;
        return;
      case 'update':
        return this.onUpdate(conn, msg);
      case 'validation':
        return this.onValidation(conn, msg);
      case 'hello':
        return this.sendError(conn, fedError('BAD_MESSAGE', 'already joined; open a new socket to rejoin'));
      case 'error':
        this.log.info({ clientId: conn.clientId, code: msg.code, ref: msg.ref }, `client reports: ${msg.message}`);
        if (msg.ref && this.round && this.round.taskIds.get(conn.clientId as string) === msg.ref) {
          // The client gave up on its task (e.g. BACKEND_UNAVAILABLE): do not wait for it.
          this.round.failed.add(conn.clientId as string);
          this.maybeClose(this.round);
        }
        return;
      default:
        this.sendError(conn, fedError('BAD_MESSAGE', `a client may not send '${msg.kind}'`));
    }
  }

  private onClientClosed(conn: ClientConn): void {
    conn.closed = true;
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    this.conns.delete(conn);
    this.pausedConns.delete(conn);
    this.dropUpload(conn);
    const id = conn.clientId;
    if (id === null || this.clients.get(id) !== conn) return;
    this.clients.delete(id);
    this.log.info({ clientId: id }, 'client disconnected');
    this.scheduleStatus();
    // A client that leaves mid-round is waited for only during the reconnect grace (its partial upload was
    // dropped above: a resumed upload starts again from the first chunk).
    if (this.round) {
      this.startGrace(this.round, id);
      this.maybeClose(this.round);
    }
    if (this.validation) this.maybeFinishValidation(this.validation);
  }

  /** Drops clients whose heartbeats stopped (online only while heartbeats arrive). */
  private sweep(): void {
    const limit = Date.now() - 3 * this.heartbeatMs;
    for (const conn of this.clients.values()) {
      if (conn.lastSeen < limit && !conn.closed) {
        this.log.info({ clientId: conn.clientId }, 'heartbeat timeout');
        this.sendError(conn, fedError('TIMEOUT', `no heartbeat for ${3 * this.heartbeatMs} ms`));
        conn.peer.close(4001, 'heartbeat timeout');
        // Count it gone now; the close event may be late on a dead TCP connection.
        this.onClientClosed(conn);
        conn.peer.terminate();
      }
    }
  }

  private sendError(conn: ClientConn, err: FedError, ref?: string): void {
    conn.peer.send({ v: 1, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ...(ref ? { ref } : {}) });
  }

  // ------------------------------------------------------------------ updates

  private onUpdate(conn: ClientConn, msg: MessageOf<'update'>): void {
    const clientId = conn.clientId as string;
    const asyncTask = this.stream?.tasksById.get(msg.taskId);
    if (asyncTask) return this.onAsyncUpdate(this.stream as AsyncStream, asyncTask, conn, msg);
    const round = this.round;
    if (!round || round.roundId !== msg.roundId || round.state !== 'collecting') {
      if (round && round.state === 'collecting') round.refusedStale += 1;
      this.log.info({ clientId, roundId: msg.roundId }, 'stale update refused');
      return this.sendError(conn, fedError('STALE_ROUND', `round ${msg.roundId} is closed or unknown`), msg.uploadId);
    }
    if (!round.selected.has(clientId)) {
      round.refused += 1;
      return this.sendError(conn, fedError('NOT_SELECTED', `client ${clientId} was not selected for round ${msg.roundId}`), msg.uploadId);
    }
    if (this.outOfAttempts(round, clientId)) {
      round.refused += 1;
      return this.sendError(
        conn,
        fedError('NOT_SELECTED', `client ${clientId} used its ${this.maxUploadAttempts} upload attempts for round ${msg.roundId}; it is out of this round`),
        msg.uploadId,
      );
    }
    if (round.taskIds.get(clientId) !== msg.taskId) {
      round.refusedStale += 1;
      return this.sendError(conn, fedError('STALE_ROUND', `task ${msg.taskId} is not this client's task for round ${msg.roundId}`), msg.uploadId);
    }
    if (round.delivered.has(clientId) || round.folding.has(clientId)) {
      return this.sendError(conn, fedError('DUPLICATE_UPDATE', `an update of ${clientId} for round ${msg.roundId} was already counted`), msg.uploadId);
    }
    this.beginUpload(conn, msg, round.maxUploadBytes, (err) => this.refuseUpload(round, conn, clientId, err, msg.uploadId));
  }

  /**
   * Starts receiving the chunks of an announced update (sync and async alike): refuses it through `refuse` when
   * it is over `maxBytes` or its chunk plan is invalid, otherwise replaces any upload in progress on `conn`.
   */
  private beginUpload(conn: ClientConn, msg: MessageOf<'update'>, maxBytes: number, refuse: (err: FedError) => void): void {
    if (msg.byteLength > maxBytes) return refuse(fedError('FRAME_TOO_LARGE', `update is ${msg.byteLength} bytes, limit ${maxBytes}`));
    this.dropUpload(conn);
    try {
      conn.upload = {
        msg,
        assembler: new ChunkAssembler({ uploadId: msg.uploadId, chunkCount: msg.chunkCount, totalBytes: msg.byteLength, maxBytes }),
        bytes: 0,
      };
    } catch (e) {
      refuse(toFedError(e, 'BAD_MESSAGE'));
    }
  }

  private onClientBinary(conn: ClientConn, bytes: Uint8Array): void {
    if (conn.clientId === null) return this.sendError(conn, fedError('BAD_MESSAGE', 'the first message must be hello'));
    const upload = conn.upload;
    if (!upload) return this.sendError(conn, fedError('BAD_CHUNK', 'binary data without an announced update'));
    let frame: Uint8Array | null;
    try {
      const chunk = parseChunk(bytes);
      if (chunk.uploadId !== upload.msg.uploadId) {
        throw fedError('BAD_CHUNK', `chunk for upload ${chunk.uploadId}, expected ${upload.msg.uploadId}`);
      }
      this.hold(conn, bytes.byteLength);
      upload.bytes += bytes.byteLength;
      frame = upload.assembler.push(bytes);
    } catch (e) {
      const err = toFedError(e, 'BAD_CHUNK');
      this.dropUpload(conn);
      const task = this.stream?.tasksById.get(upload.msg.taskId);
      if (task) return this.refuseAsync(this.stream as AsyncStream, task, conn, err, upload.msg.uploadId);
      const round = this.round;
      if (round && round.roundId === upload.msg.roundId && round.state === 'collecting') return this.refuseUpload(round, conn, conn.clientId, err, upload.msg.uploadId);
      this.log.warn({ clientId: conn.clientId, code: err.code }, `bad chunk: ${err.message}`);
      return this.sendError(conn, err, upload.msg.uploadId);
    }
    if (frame) {
      conn.upload = null;
      // The held bytes move from the upload to the frame; released when the fold is done.
      const held = upload.bytes;
      const task = this.stream?.tasksById.get(upload.msg.taskId);
      const done = task ? this.processAsyncFrame(this.stream as AsyncStream, task, conn, upload.msg, frame) : this.processFrame(conn, upload.msg, frame);
      void done.finally(() => this.release(conn, held));
    }
  }

  private outOfAttempts(round: RoundPart, clientId: string): boolean {
    return (round.badUploads.get(clientId) ?? 0) >= this.maxUploadAttempts;
  }

  /**
   * Refuses one upload of a selected client for the open round and counts it against the client's attempts.
   * A non-retryable refusal fails the client at once (it is not waited for); a retryable one lets it resend
   * until its attempts are used up, then it is cancelled out of the round. Either way the part can close on
   * the usual rule (everyone delivered, failed or gone; quota; deadline) instead of waiting on it.
   */
  private refuseUpload(round: RoundPart, conn: ClientConn, clientId: string, err: FedError, uploadId: string): void {
    const attempts = (round.badUploads.get(clientId) ?? 0) + 1;
    round.badUploads.set(clientId, attempts);
    round.refused += 1;
    this.log.warn({ clientId, code: err.code, roundId: round.roundId, attempts }, `update refused: ${err.message}`);
    this.sendError(conn, err, uploadId);
    if (err.retryable && attempts < this.maxUploadAttempts) return;
    round.failed.add(clientId);
    if (err.retryable) {
      this.log.warn({ clientId, roundId: round.roundId, attempts }, 'client used its upload attempts; it is out of this round');
      conn.peer.send({
        v: 1,
        kind: 'task.cancel',
        taskId: round.taskIds.get(clientId) as string,
        roundId: round.roundId,
        reason: `${attempts} refused uploads (the limit is ${this.maxUploadAttempts} per round)`,
      });
    }
    this.maybeClose(round);
  }

  private async processFrame(conn: ClientConn, msg: MessageOf<'update'>, frame: Uint8Array): Promise<void> {
    const clientId = conn.clientId as string;
    const round = this.round;
    if (sha256Node(frame) !== msg.sha256) {
      const err = fedError('HASH_MISMATCH', 'SHA-256 of the received frame differs from the announced one');
      // Retryable (the bytes may have been damaged on the way), but bounded: see refuseUpload.
      if (round && round.roundId === msg.roundId && round.state === 'collecting' ) return this.refuseUpload(round, conn, clientId, err, msg.uploadId);
      this.log.warn({ clientId }, 'update hash mismatch');
      return this.sendError(conn, err, msg.uploadId);
    }
    if (!round || round.roundId !== msg.roundId || round.state !== 'collecting') {
      if (round && round.state !== 'closed') round.refusedStale += 1;
      return this.sendError(conn, fedError('STALE_ROUND', `round ${msg.roundId} closed before the upload completed`), msg.uploadId);
    }
    if (round.delivered.has(clientId) || round.folding.has(clientId)) {
      return this.sendError(conn, fedError('DUPLICATE_UPDATE', `an update of ${clientId} for round ${msg.roundId} was already counted`), msg.uploadId);
    }
    round.folding.add(clientId);
    round.inflight += 1;
    await this.acquireFoldSlot();
    try {
      if (round.maxUpdateNorm !== undefined) {
        const tensors = await round.tools.decode(frame);
        let sq = 0;
        for (const t of tensors) for (let i = 0; i < t.data.length; i++) sq += (t.data[i] as number) ** 2;
        const norm = Math.sqrt(sq);
        if (norm > round.maxUpdateNorm) throw fedError('NORM_EXCEEDED', `update L2 norm ${norm.toPrecision(4)} exceeds ${round.maxUpdateNorm}`);
      }
      // foldInto validates names, shapes, dtypes, finiteness and sizes before it touches the running sum.
      await round.strategy.foldUpdate(round.options, round.partial, { clientId, frame, numExamples: msg.numExamples, staleness: 0 }, round.tools, round.ctx);
      const now = Date.now();
      round.delivered.add(clientId);
      round.firstUpdateAt ??= now;
      round.lastUpdateAt = now;
      for (const [name, value] of Object.entries(msg.metrics)) {
        round.metricSums[name] = (round.metricSums[name] ?? 0) + value * msg.numExamples;
        round.metricWeights[name] = (round.metricWeights[name] ?? 0) + msg.numExamples;
      }
      conn.peer.send({ v: 1, kind: 'update.ack', uploadId: msg.uploadId, roundId: msg.roundId });
    } catch (e) {
      this.refuseUpload(round, conn, clientId, toFedError(e, 'BAD_FRAME'), msg.uploadId);
    } finally {
      round.folding.delete(clientId);
      // It left while its update was folding and the fold was refused (retryable): it may come back and resend.
      if (!this.clients.has(clientId)) this.startGrace(round, clientId);
      round.inflight -= 1;
      this.releaseFoldSlot();
      if (round.inflight === 0) for (const resolve of round.drained.splice(0)) resolve();
      this.maybeClose(round);
    }
  }

  private acquireFoldSlot(): Promise<void> {
    if (this.foldSlots > 0) {
      this.foldSlots -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.foldQueue.push(resolve));
  }

  private releaseFoldSlot(): void {
    const next = this.foldQueue.shift();
    if (next) next();
    else this.foldSlots += 1;
  }

  /** Inbound backpressure: pause a socket while too many update bytes wait to be folded. */
  private hold(conn: ClientConn, bytes: number): void {
    conn.heldBytes += bytes;
    this.inflightBytes += bytes;
    if (this.inflightBytes > this.maxInflightBytes && !conn.paused) {
      conn.paused = true;
      conn.peer.pause();
      this.pausedConns.add(conn);
    }
  }

  private release(conn: ClientConn, bytes: number): void {
    const n = Math.min(bytes, conn.heldBytes);
    conn.heldBytes -= n;
    this.inflightBytes = Math.max(0, this.inflightBytes - n);
    if (this.inflightBytes <= this.maxInflightBytes / 2 && this.pausedConns.size > 0) {
      for (const c of this.pausedConns) {
        c.paused = false;
        if (!c.closed) c.peer.resume();
      }
      this.pausedConns.clear();
    }
  }

  private dropUpload(conn: ClientConn): void {
    if (!conn.upload) return;
    this.release(conn, conn.upload.bytes);
    conn.upload = null;
  }

  // ------------------------------------------------------------------ round part

  private onPrepare(msg: MessageOf<'round.prepare'>): void {
    const policy = SelectionPolicySchema.safeParse(msg.selection);
    if (!policy.success) {
      this.sendToController({ v: 1, kind: 'error', code: 'BAD_CONFIG', message: `bad selection policy: ${policy.error.issues[0]?.message}`, ref: msg.roundId });
      return;
    }
    if (this.round && this.round.state === 'collecting' && this.round.roundId !== msg.roundId) {
      // The controller moved on (e.g. it restarted): the old round can never be reduced.
      this.abortRound(this.round, 'superseded by a new round');
    }
    if (this.stream && this.stream.streamId !== msg.roundId) this.closeStream(this.stream, 'superseded by a new round');
    this.lastPrepare = { roundId: msg.roundId, policy: policy.data };
    const eligible = [...this.clients.values()]
      .filter((c) => isEligible(c.capabilities, policy.data))
      .map((c) => c.clientId as string)
      .sort();
    this.sendToController({ v: 1, kind: 'round.ready', roundId: msg.roundId, eligible });
  }

  private failStart(roundId: string, err: FedError): void {
    this.log.error({ roundId, code: err.code }, `cannot start round: ${err.message}`);
    if (this.round && this.round.roundId === roundId && this.round.state !== 'closed') this.abortRound(this.round, err.message);
    if (this.stream && this.stream.streamId === roundId) this.closeStream(this.stream, err.message);
    this.sendToController({ v: 1, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: roundId });
  }

  private async onStart(msg: MessageOf<'round.start'>): Promise<void> {
    let strategy: Strategy<unknown, unknown>;
    try {
      strategy = getStrategy(msg.strategy.name) as Strategy<unknown, unknown>;
    } catch (e) {
      if (this.round && this.round.state !== 'closed') this.abortRound(this.round, 'superseded by a new round');
      throw e;
    }
    if (strategy.mode === 'async') {
      const next = this.asyncChain.then(() => this.onAsyncStart(msg, strategy));
      this.asyncChain = next.catch(() => undefined);
      return next;
    }
    if (this.stream) this.closeStream(this.stream, 'superseded by a synchronous round');
    if (this.round && this.round.state !== 'closed') this.abortRound(this.round, 'superseded by a new round');
    const parsed = strategy.optionsSchema.safeParse(msg.strategy.options);
    if (!parsed.success) throw fedError('BAD_CONFIG', `strategy options: ${parsed.error.issues[0]?.message}`);
    const layout = await this.layoutFor(msg.model);
    const paramCount = layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const ctx: StrategyContext = {
      sessionId: msg.sessionId,
      round: msg.round ?? roundNumberOf(msg.roundId),
      layout,
      paramCount,
      seed: msg.seed ?? 0,
    };
    // f32 delta plus an optional same-size extra (SCAFFOLD control variate) at worst, plus headers.
    const maxUploadBytes = Math.min(this.opts.maxUploadBytes ?? 512 * 1024 * 1024, Math.ceil(paramCount * 8.5) + 1024 * 1024);
    const limits = { maxFrameBytes: maxUploadBytes, maxBodyBytes: paramCount * 8 + 1024 * 1024, maxElements: paramCount * 2 + 16, maxTensors: layout.length * 2 + 16 };
    const round: RoundPart = {
      sessionId: msg.sessionId,
      roundId: msg.roundId,
      strategy,
      options: parsed.data,
      ctx,
      tools: createFoldTools({ layout, compressor: this.opts.compressor, limits }),
      partial: strategy.createPartial(parsed.data, ctx),
      start: msg,
      selected: new Set(msg.clientIds),
      taskIds: new Map(msg.clientIds.map((id) => [id, shortId('t')])),
      delivered: new Set(),
      folding: new Set(),
      failed: new Set(),
      away: new Map(),
      badUploads: new Map(),
      quota: Math.min(msg.quota, msg.clientIds.length),
      state: 'collecting',
      timer: null,
      inflight: 0,
      drained: [],
      metricSums: {},
      metricWeights: {},
      refusedStale: 0,
      refused: 0,
      firstUpdateAt: null,
      lastUpdateAt: null,
      maxUploadBytes,
      maxUpdateNorm: msg.maxUpdateNorm,
    };
    this.round = round;
    const wait = Math.max(0, msg.deadline - Date.now());
    round.timer = setTimeout(() => guard(this.log, 'round deadline', () => this.closeRound(round, 'deadline')), wait);
    round.timer.unref();
    this.log.info({ roundId: msg.roundId, selected: msg.clientIds.length, quota: round.quota }, 'round part started');
    for (const id of msg.clientIds) {
      const conn = this.clients.get(id);
      if (conn) this.sendTrainTask(round, conn);
    }
    this.maybeClose(round);
  }

  private sendTrainTask(round: RoundPart, conn: ClientConn): void {
    const clientId = conn.clientId as string;
    const start = round.start;
    conn.peer.send({
      v: 1,
      kind: 'task.train',
      taskId: round.taskIds.get(clientId) as string,
      sessionId: round.sessionId,
      roundId: round.roundId,
      model: start.model,
      package: start.package,
      settings: start.settings,
      deadline: start.deadline,
    });
  }

  private async layoutFor(model: BlobRef): Promise<TensorSpec[]> {
    if (this.modelCache?.sha256 === model.sha256) return this.modelCache.layout;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 60_000);
    try {
      const bytes = await this.opts.fetchBlob(model, ac.signal);
      if (sha256Node(bytes) !== model.sha256) throw fedError('HASH_MISMATCH', `model ${model.id} does not match its SHA-256`);
      const layout = layoutOf(bytes);
      this.modelCache = { sha256: model.sha256, layout };
      return layout;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Closes the part when every selected client delivered, failed or left (and its reconnect grace ran out),
   * or the quota is reached.
   */
  private maybeClose(round: RoundPart): void {
    if (round.state !== 'collecting' || round !== this.round) return;
    if (round.delivered.size >= round.quota) return this.closeRound(round, 'quota');
    for (const id of round.selected) {
      if (round.delivered.has(id) || round.failed.has(id)) continue;
      if (round.folding.has(id) || round.away.has(id)) return;
      const conn = this.clients.get(id);
      if (conn && !conn.closed) return;
    }
    this.closeRound(round, 'all selected clients done or gone');
  }

  /** A selected client that still owes an update disconnected: keep its slot for the reconnect grace. */
  private startGrace(round: RoundPart, clientId: string): void {
    if (round.state !== 'collecting' || this.reconnectGraceMs === 0 || this.closing) return;
    if (!round.selected.has(clientId) || round.delivered.has(clientId) || round.failed.has(clientId) || round.folding.has(clientId)) return;
    this.endGrace(round, clientId);
    // The round's own deadline timer closes the part anyway, so the grace never outlives the round.
    const timer = setTimeout(
      () =>
        guard(this.log, 'reconnect grace', () => {
          if (round.away.get(clientId) !== timer) return;
          round.away.delete(clientId);
          this.log.info({ clientId, roundId: round.roundId }, 'client did not come back within the reconnect grace');
          this.maybeClose(round);
        }),
      this.reconnectGraceMs,
    );
    timer.unref();
    round.away.set(clientId, timer);
  }

  private endGrace(round: RoundPart, clientId: string): void {
    const timer = round.away.get(clientId);
    if (timer === undefined) return;
    clearTimeout(timer);
    round.away.delete(clientId);
  }

  private clearGraces(round: RoundPart): void {
    for (const timer of round.away.values()) clearTimeout(timer);
    round.away.clear();
  }

  private closeRound(round: RoundPart, reason: string): void {
    if (round.state !== 'collecting') return;
    round.state = 'closing';
    if (round.timer) clearTimeout(round.timer);
    this.clearGraces(round);
    this.rememberClosed(round.roundId);
    this.cancelOutstanding(round, `round closed (${reason})`);
    const send = this.finishRound(round, reason)
      .catch((e: unknown) => this.log.error({ roundId: round.roundId, err: toFedError(e).message }, 'sending the partial failed'))
      .finally(() => this.pendingSends.delete(send));
    this.pendingSends.add(send);
  }

  private async finishRound(round: RoundPart, reason: string): Promise<void> {
    // Updates whose last chunk arrived before the close are folded; nothing new starts after it.
    if (round.inflight > 0) await new Promise<void>((resolve) => round.drained.push(resolve));
    round.state = 'closed';
    if (this.round === round) this.round = null;
    this.log.info({ roundId: round.roundId, count: round.partial.count, weight: round.partial.weight, reason }, 'round part closed');
    await this.sendPartial(round.roundId, round.partial, round, meanMetrics(round.metricSums, round.metricWeights), 'send the partial');
  }

  /**
   * Encodes a partial aggregate and sends it to the controller as a `round.partial` and its chunks: a sync
   * round's closing partial, or an async stream's forwarded batch (`roundId` = the stream id).
   */
  private async sendPartial(roundId: string, partial: PartialAggregate, meta: PartialCounters, metrics: Metrics, what: string): Promise<void> {
    const enc = await encodePartial(partial);
    const uploadId = shortId('p');
    const chunks = chunkFrame(enc.frame, uploadId);
    if (!this.controller?.open) throw fedError('UNAVAILABLE', `no controller link to ${what} to`);
    const peer = this.controller;
    peer.send({
      v: 1,
      kind: 'round.partial',
      roundId,
      combinerId: this.id,
      uploadId,
      count: enc.count,
      totalWeight: enc.totalWeight,
      metrics,
      scalars: enc.scalars,
      refusedStale: meta.refusedStale,
      refused: meta.refused,
      sha256: sha256Node(enc.frame),
      byteLength: enc.frame.byteLength,
      chunkCount: chunks.length,
      ...(meta.firstUpdateAt !== null ? { firstUpdateAt: meta.firstUpdateAt } : {}),
      ...(meta.lastUpdateAt !== null ? { lastUpdateAt: meta.lastUpdateAt } : {}),
    });
    await sendChunks(peer, chunks);
  }

  private cancelOutstanding(round: RoundPart, reason: string): void {
    for (const id of round.selected) {
      if (round.delivered.has(id) || round.folding.has(id)) continue;
      const conn = this.clients.get(id);
      conn?.peer.send({ v: 1, kind: 'task.cancel', taskId: round.taskIds.get(id) as string, roundId: round.roundId, reason: reason.slice(0, 500) });
    }
  }

  private abortRound(round: RoundPart, reason: string): void {
    if (round.state === 'closed') return;
    this.log.warn({ roundId: round.roundId, reason }, 'round part aborted');
    if (round.timer) clearTimeout(round.timer);
    this.clearGraces(round);
    if (round.state === 'collecting') this.cancelOutstanding(round, `round aborted: ${reason}`);
    round.state = 'closed';
    this.rememberClosed(round.roundId);
    if (this.round === round) this.round = null;
  }

  private rememberClosed(roundId: string): void {
    this.closedRounds.push(roundId);
    if (this.closedRounds.length > 64) this.closedRounds.shift();
  }

  // ------------------------------------------------------------------ asynchronous stream (FedBuff)

  /**
   * `round.start` of an async strategy: opens the stream (a new `roundId`) or moves it to a new version (the
   * same `roundId`, a higher `round`: the controller published a model). `round` is the version being built,
   * `quota` how many folded updates go in one forwarded partial, `deadline - now` each task's time budget.
   */
  private async onAsyncStart(msg: MessageOf<'round.start'>, strategy: Strategy<unknown, unknown>): Promise<void> {
    const parsed = strategy.optionsSchema.safeParse(msg.strategy.options);
    if (!parsed.success) throw fedError('BAD_CONFIG', `strategy options: ${parsed.error.issues[0]?.message}`);
    const round = msg.round ?? roundNumberOf(msg.roundId);
    const taskTimeoutMs = Math.max(1000, msg.deadline - Date.now());
    let st = this.stream;
    if (st && st.state === 'open' && st.streamId === msg.roundId) {
      if (round < st.round) return; // an older version arriving late changes nothing
      st.round = round;
      st.start = msg;
      st.ctx = { ...st.ctx, round, seed: msg.seed ?? st.ctx.seed };
      st.taskTimeoutMs = taskTimeoutMs;
      st.forwardEvery = msg.quota;
      this.log.info({ streamId: st.streamId, version: round - 1 }, 'async stream: new model version');
    } else {
      if (this.round && this.round.state !== 'closed') this.abortRound(this.round, 'superseded by an asynchronous session');
      if (st) this.closeStream(st, 'superseded by a new stream');
      const layout = await this.layoutFor(msg.model);
      const paramCount = layout.reduce((n, sh) => n + sh.shape.reduce((a, b) => a * b, 1), 0);
      const ctx: StrategyContext = { sessionId: msg.sessionId, round, layout, paramCount, seed: msg.seed ?? 0 };
      const maxUploadBytes = Math.min(this.opts.maxUploadBytes ?? 512 * 1024 * 1024, Math.ceil(paramCount * 8.5) + 1024 * 1024);
      const limits = { maxFrameBytes: maxUploadBytes, maxBodyBytes: paramCount * 8 + 1024 * 1024, maxElements: paramCount * 2 + 16, maxTensors: layout.length * 2 + 16 };
      const prepared = this.lastPrepare?.roundId === msg.roundId ? this.lastPrepare.policy : SelectionPolicySchema.parse({});
      st = {
        streamId: msg.roundId,
        sessionId: msg.sessionId,
        strategy,
        options: parsed.data,
        ctx,
        tools: createFoldTools({ layout, compressor: this.opts.compressor, limits }),
        start: msg,
        round,
        maxStaleness: strategy.asyncConfig?.(parsed.data).maxStaleness ?? Number.MAX_SAFE_INTEGER,
        forwardEvery: msg.quota,
        taskTimeoutMs,
        policy: prepared,
        tasks: new Map(),
        tasksById: new Map(),
        folding: new Set(),
        batch: strategy.createPartial(parsed.data, ctx),
        metricSums: {},
        metricWeights: {},
        refusedStale: 0,
        refused: 0,
        firstUpdateAt: null,
        lastUpdateAt: null,
        maxUploadBytes,
        maxUpdateNorm: msg.maxUpdateNorm,
        sending: Promise.resolve(),
        state: 'open',
      };
      this.stream = st;
      this.log.info({ streamId: st.streamId, version: round - 1 }, 'async stream opened');
    }
    // Every eligible client without work gets a task on the newest version; the controller's `clientIds` are
    // tasked too (it may know of clients this combiner's policy copy would skip).
    const named = new Set(msg.clientIds);
    for (const conn of this.clients.values()) {
      const id = conn.clientId as string;
      if (!st.tasks.has(id) && (named.has(id) || isEligible(conn.capabilities, st.policy))) this.sendAsyncTask(st, conn);
    }
  }

  private tooStale(st: AsyncStream, task: AsyncTask): boolean {
    return st.round - task.round > st.maxStaleness;
  }

  /** A client with no usable task gets one; one with an outstanding task gets the same task again. */
  private taskIdle(st: AsyncStream, conn: ClientConn): void {
    const id = conn.clientId as string;
    const task = st.tasks.get(id);
    if (task && !this.tooStale(st, task)) return this.sendTaskMessage(st, conn, task);
    if (task || isEligible(conn.capabilities, st.policy)) this.sendAsyncTask(st, conn);
  }

  private sendAsyncTask(st: AsyncStream, conn: ClientConn): void {
    const clientId = conn.clientId as string;
    const old = st.tasks.get(clientId);
    if (old) st.tasksById.delete(old.taskId);
    const task: AsyncTask = {
      taskId: shortId('t'),
      // Unique per task (a client may cache a pending upload by round id); `.r<n>.` names the version built.
      roundId: `${st.sessionId}.r${st.round}.${randomBytes(4).toString('hex')}`,
      clientId,
      round: st.round,
      model: st.start.model,
      settings: st.start.settings,
      deadline: Date.now() + st.taskTimeoutMs,
      attempts: 0,
    };
    st.tasks.set(clientId, task);
    st.tasksById.set(task.taskId, task);
    this.sendTaskMessage(st, conn, task);
  }

  private sendTaskMessage(st: AsyncStream, conn: ClientConn, task: AsyncTask): void {
    conn.peer.send({
      v: 1,
      kind: 'task.train',
      taskId: task.taskId,
      sessionId: st.sessionId,
      roundId: task.roundId,
      model: task.model,
      package: st.start.package,
      settings: task.settings,
      deadline: task.deadline,
    });
  }

  private endTask(st: AsyncStream, task: AsyncTask): void {
    if (st.tasks.get(task.clientId) === task) st.tasks.delete(task.clientId);
    st.tasksById.delete(task.taskId);
  }

  /** The task was trained on a model more than `maxStaleness` versions old: refused, and a fresh task goes out. */
  private refuseStale(st: AsyncStream, task: AsyncTask, conn: ClientConn, uploadId: string): void {
    st.refusedStale += 1;
    this.endTask(st, task);
    const staleness = st.round - task.round;
    this.log.info({ clientId: task.clientId, staleness, maxStaleness: st.maxStaleness }, 'stale async update refused');
    this.sendError(conn, fedError('STALE_ROUND', `update is ${staleness} model versions old (maxStaleness ${st.maxStaleness}); train on the current model`), uploadId);
    if (this.clients.get(task.clientId) === conn && !conn.closed) this.sendAsyncTask(st, conn);
  }

  private onAsyncUpdate(st: AsyncStream, task: AsyncTask, conn: ClientConn, msg: MessageOf<'update'>): void {
    const clientId = conn.clientId as string;
    if (task.clientId !== clientId) {
      st.refused += 1;
      return this.sendError(conn, fedError('NOT_SELECTED', `task ${msg.taskId} belongs to another client`), msg.uploadId);
    }
    if (st.folding.has(clientId)) {
      return this.sendError(conn, fedError('DUPLICATE_UPDATE', `an update of ${clientId} is being folded`), msg.uploadId);
    }
    if (this.tooStale(st, task)) return this.refuseStale(st, task, conn, msg.uploadId);
    this.beginUpload(conn, msg, st.maxUploadBytes, (err) => this.refuseAsync(st, task, conn, err, msg.uploadId));
  }

  /** Refuses an upload of an async task; after `maxUploadAttempts` (or a non-retryable error) the task ends. */
  private refuseAsync(st: AsyncStream, task: AsyncTask, conn: ClientConn, err: FedError, uploadId: string): void {
    st.refused += 1;
    task.attempts += 1;
    this.log.warn({ clientId: task.clientId, code: err.code, attempts: task.attempts }, `async update refused: ${err.message}`);
    this.sendError(conn, err, uploadId);
    if (err.retryable && task.attempts < this.maxUploadAttempts) return;
    // The client gets work again with the next model version.
    this.endTask(st, task);
    conn.peer.send({ v: 1, kind: 'task.cancel', taskId: task.taskId, roundId: task.roundId, reason: `update refused (${err.code}); a new task comes with the next model version` });
  }

  private async processAsyncFrame(st: AsyncStream, task: AsyncTask, conn: ClientConn, msg: MessageOf<'update'>, frame: Uint8Array): Promise<void> {
    const clientId = task.clientId;
    if (sha256Node(frame) !== msg.sha256) {
      return this.refuseAsync(st, task, conn, fedError('HASH_MISMATCH', 'SHA-256 of the received frame differs from the announced one'), msg.uploadId);
    }
    if (st.state !== 'open' || st.tasksById.get(task.taskId) !== task) {
      return this.sendError(conn, fedError('STALE_ROUND', `task ${task.taskId} is closed`), msg.uploadId);
    }
    if (st.folding.has(clientId)) return this.sendError(conn, fedError('DUPLICATE_UPDATE', `an update of ${clientId} is being folded`), msg.uploadId);
    st.folding.add(clientId);
    await this.acquireFoldSlot();
    try {
      // Staleness when the update is folded: versions published since the task's base model.
      if (this.tooStale(st, task)) return this.refuseStale(st, task, conn, msg.uploadId);
      const staleness = st.round - task.round;
      if (st.maxUpdateNorm !== undefined) {
        const tensors = await st.tools.decode(frame);
        let sq = 0;
        for (const t of tensors) for (let i = 0; i < t.data.length; i++) sq += (t.data[i] as number) ** 2;
        const norm = Math.sqrt(sq);
        if (norm > st.maxUpdateNorm) throw fedError('NORM_EXCEEDED', `update L2 norm ${norm.toPrecision(4)} exceeds ${st.maxUpdateNorm}`);
      }
      // Each update is folded into its own partial, then merged: a forward may swap the batch while a fold runs.
      const one = st.strategy.createPartial(st.options, st.ctx);
      await st.strategy.foldUpdate(st.options, one, { clientId, frame, numExamples: msg.numExamples, staleness }, st.tools, st.ctx);
      if (st.state !== 'open') return this.sendError(conn, fedError('STALE_ROUND', 'the asynchronous session ended before the update was folded'), msg.uploadId);
      st.batch = st.batch.count === 0 ? one : st.strategy.mergePartials(st.options, st.batch, one, st.ctx);
      const now = Date.now();
      st.firstUpdateAt ??= now;
      st.lastUpdateAt = now;
      for (const [name, value] of Object.entries(msg.metrics)) {
        st.metricSums[name] = (st.metricSums[name] ?? 0) + value * msg.numExamples;
        st.metricWeights[name] = (st.metricWeights[name] ?? 0) + msg.numExamples;
      }
      this.endTask(st, task);
      conn.peer.send({ v: 1, kind: 'update.ack', uploadId: msg.uploadId, roundId: msg.roundId });
      if (st.batch.count >= st.forwardEvery) this.forwardBatch(st);
      // Train continuously: the next task, on the newest version known here.
      if (this.clients.get(clientId) === conn && !conn.closed) this.sendAsyncTask(st, conn);
    } catch (e) {
      const err = toFedError(e, 'BAD_FRAME');
      if (err.code === 'STALE_ROUND') this.refuseStale(st, task, conn, msg.uploadId);
      else this.refuseAsync(st, task, conn, err, msg.uploadId);
    } finally {
      st.folding.delete(clientId);
      this.releaseFoldSlot();
    }
  }

  /** Sends the folded batch to the controller now (a `round.partial` of the stream) and starts a new one. */
  private forwardBatch(st: AsyncStream): void {
    const batch = st.batch;
    const metrics = meanMetrics(st.metricSums, st.metricWeights);
    const meta: PartialCounters = { refused: st.refused, refusedStale: st.refusedStale, firstUpdateAt: st.firstUpdateAt, lastUpdateAt: st.lastUpdateAt };
    st.batch = st.strategy.createPartial(st.options, st.ctx);
    st.metricSums = {};
    st.metricWeights = {};
    st.refused = 0;
    st.refusedStale = 0;
    st.firstUpdateAt = null;
    st.lastUpdateAt = null;
    const send = () => this.sendPartial(st.streamId, batch, meta, metrics, 'forward the update');
    const p = st.sending.then(send).catch((e: unknown) => this.log.error({ streamId: st.streamId, err: toFedError(e).message }, 'forwarding async updates failed'));
    st.sending = p;
    this.pendingSends.add(p);
    void p.finally(() => this.pendingSends.delete(p));
  }

  private closeStream(st: AsyncStream, reason: string): void {
    if (st.state === 'closed') return;
    st.state = 'closed';
    if (this.stream === st) this.stream = null;
    this.log.info({ streamId: st.streamId, reason }, 'async stream closed');
    for (const task of st.tasks.values()) {
      this.clients.get(task.clientId)?.peer.send({ v: 1, kind: 'task.cancel', taskId: task.taskId, roundId: task.roundId, reason: `session ended: ${reason}`.slice(0, 500) });
    }
    st.tasks.clear();
    st.tasksById.clear();
  }

  // ------------------------------------------------------------------ validation

  private onValidateStart(msg: MessageOf<'validate.start'>): void {
    if (this.validation && !this.validation.closed) this.finishValidation(this.validation, false);
    const v: ValidationPart = {
      roundId: msg.roundId,
      start: msg,
      expected: new Set(msg.clientIds),
      taskIds: new Map(msg.clientIds.map((id) => [id, shortId('v')])),
      done: new Set(),
      metricSums: {},
      numExamples: 0,
      count: 0,
      timer: null,
      closed: false,
    };
    this.validation = v;
    v.timer = setTimeout(() => guard(this.log, 'validation deadline', () => this.finishValidation(v, true)), Math.max(0, msg.deadline - Date.now()));
    v.timer.unref();
    for (const id of msg.clientIds) {
      const conn = this.clients.get(id);
      if (conn) this.sendValidateTask(v, conn);
    }
    this.maybeFinishValidation(v);
  }

  private sendValidateTask(v: ValidationPart, conn: ClientConn): void {
    const id = conn.clientId as string;
    conn.peer.send({
      v: 1,
      kind: 'task.validate',
      taskId: v.taskIds.get(id) as string,
      sessionId: v.start.sessionId,
      roundId: v.roundId,
      model: v.start.model,
      package: v.start.package,
      deadline: v.start.deadline,
    });
  }

  private onValidation(conn: ClientConn, msg: MessageOf<'validation'>): void {
    const id = conn.clientId as string;
    const v = this.validation;
    if (!v || v.closed || v.roundId !== msg.roundId || v.taskIds.get(id) !== msg.taskId) {
      return this.sendError(conn, fedError('STALE_ROUND', `validation for ${msg.roundId} is closed or unknown`), msg.taskId);
    }
    if (v.done.has(id)) return this.sendError(conn, fedError('DUPLICATE_UPDATE', 'validation already counted'), msg.taskId);
    v.done.add(id);
    v.count += 1;
    v.numExamples += msg.numExamples;
    for (const [name, value] of Object.entries(msg.metrics)) v.metricSums[name] = (v.metricSums[name] ?? 0) + value * msg.numExamples;
    this.maybeFinishValidation(v);
  }

  private maybeFinishValidation(v: ValidationPart): void {
    if (v.closed) return;
    for (const id of v.expected) {
      if (v.done.has(id)) continue;
      const conn = this.clients.get(id);
      if (conn && !conn.closed) return;
    }
    this.finishValidation(v, true);
  }

  private finishValidation(v: ValidationPart, report: boolean): void {
    if (v.closed) return;
    v.closed = true;
    if (v.timer) clearTimeout(v.timer);
    if (this.validation === v) this.validation = null;
    for (const id of v.expected) {
      if (v.done.has(id)) continue;
      this.clients.get(id)?.peer.send({ v: 1, kind: 'task.cancel', taskId: v.taskIds.get(id) as string, roundId: v.roundId, reason: 'validation closed' });
    }
    if (report) {
      this.sendToController({ v: 1, kind: 'validate.partial', roundId: v.roundId, combinerId: this.id, metricSums: v.metricSums, numExamples: v.numExamples, count: v.count });
    }
  }

  // ------------------------------------------------------------------ shutdown

  /** Closes every client socket and stops timers. Waits (bounded) for a partial being sent. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    clearInterval(this.keepaliveTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (this.round && this.round.state === 'collecting') this.abortRound(this.round, 'combiner shutting down');
    if (this.stream) this.closeStream(this.stream, 'combiner shutting down');
    if (this.validation) this.finishValidation(this.validation, false);
    for (const conn of this.conns) {
      if (conn.helloTimer) clearTimeout(conn.helloTimer);
      conn.peer.close(1001, 'combiner shutting down');
    }
    if (this.pendingSends.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pendingSends]), new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
    }
    for (const conn of this.conns) conn.peer.terminate();
    this.conns.clear();
    this.clients.clear();
  }

  /** For tests and `/healthz`: an error is never thrown from here. */
  health(): { combinerId: string; clients: number; openRoundId: string | null; controller: boolean; inflightBytes: number } {
    return { combinerId: this.id, clients: this.clients.size, openRoundId: this.openRoundId, controller: !!this.controller?.open, inflightBytes: this.inflightBytes };
  }
}

/** Counters a combiner reports with every partial it sends. */
interface PartialCounters {
  refused: number;
  refusedStale: number;
  firstUpdateAt: number | null;
  lastUpdateAt: number | null;
}

/** Weighted means of the metrics clients reported (sums and weights by name); non-finite means are dropped. */
function meanMetrics(sums: Record<string, number>, weights: Record<string, number>): Metrics {
  const metrics: Metrics = {};
  for (const [name, sum] of Object.entries(sums)) {
    const w = weights[name] ?? 0;
    if (w > 0 && Number.isFinite(sum / w)) metrics[name] = sum / w;
  }
  return metrics;
}
