/** The combiner tier: its clients' sockets, admission of their updates, the fold into partials, and the partial's trip to the controller. */
/*
 * A combiner (FEDn's combiner tier: https://docs.scaleoutsystems.com/en/stable/architecture.html) owns its
 * clients' sockets, runs its part of each round and hands a partial aggregate to the reducer. It is stateless
 * beyond the current round and knows nothing of the other combiners. The embedded combiner (inside
 * `fedweb server`) and an external one (`fedweb combiner`, process.ts) are both this class; only the pipe to
 * the controller differs (in-process pair or WebSocket).
 *
 * The data's walk, file by file:
 *   clients.ts          socket: hello, auth, heartbeats, sweep
 *   uploads.ts          chunk assembly, backpressure, fold slots
 *   admission.ts        every check before a sum (one path for sync and async)
 *   round-part.ts       fold into a sync round's running sum -> its partial
 *   async-stream.ts     fold into an async stream's batch -> forwarded partials
 *   controller-link.ts  partials (and the client list) up to the controller
 * Beside the walk:
 *   round-control.ts    round.prepare / start / abort -> which part is open (the newest start wins)
 *   validation-part.ts  validation tasks -> example-weighted metric sums
 *   process.ts          the external `fedweb combiner` process around this class
 *
 * This file only wires them together and keeps the public API.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import type { WebSocket } from 'ws';
import { fedError, type BlobRef, type ClientInfo, type Compressor, type FrameLimits, type Message, type MessageOf, type WithdrawReason } from '@fedweb/codec';
import type { Authenticator } from '../auth.js';
import type { Logger } from '../log.js';
import type { Peer } from '../transport.js';
import { FoldPool } from '../fold-pool/pool.js';
import { Admission, type AdmissionObserver } from './admission.js';
import { ClientHub, sendClientError, type ClientConn } from './clients.js';
import { ControllerLink } from './controller-link.js';
import { RoundControl } from './round-control.js';
import { FoldSlots, UploadBuffer } from './uploads.js';
import { refuseValidation, ValidationPart } from './validation-part.js';

export { layoutOf, roundNumberOf } from './round-control.js';

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
  /**
   * In-flight budget: update bytes announced and not folded yet. An announced size is charged before its buffer
   * is allocated; an update larger than this is refused (FRAME_TOO_LARGE), one that does not fit now is refused
   * as UNAVAILABLE (retryable, not an attempt). Default 256 MiB.
   */
  maxInflightBytes?: number;
  /** Most connected clients. Default 20,000. */
  maxClients?: number;
  /** Folds running at once (each holds its frame and inflated body). Default max(2, foldWorkers). */
  foldConcurrency?: number;
  /**
   * Worker threads that inflate and validate updates (`FoldPool`; started on the first update), so the combiner
   * uses every core and its event loop only accumulates. Default: the cores (`os.availableParallelism()`);
   * 0 = parse on the event loop (inflate then runs on the libuv pool).
   */
  foldWorkers?: number;
  /** A socket that sends no `hello` within this is closed (4408). Default 10 s. */
  helloTimeoutMs?: number;
  /** Bytes a socket may send before its `hello` is accepted; more closes it (1009). Default 64 KiB. */
  maxPreAuthBytes?: number;
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
  /** Told of every update frame received, counted and refused (the metrics hook, metrics/). */
  observer?: AdmissionObserver;
}

/** A client left a round (or an async task) early and its slot was freed (`withdraw`). */
export interface WithdrawnEvent {
  clientId: string;
  roundId: string;
  reason: WithdrawReason;
}

/** What a combiner announces on {@link Combiner.events} (metrics hook here). */
export interface CombinerEvents {
  withdrawn: [WithdrawnEvent];
}

const DEFAULT_HEARTBEAT_MS = 5000;
const DEFAULT_RECONNECT_GRACE_MS = 15_000;
const DEFAULT_MAX_UPLOAD_ATTEMPTS = 3;

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
  /**
   * `withdrawn`: a client's slot was freed by its `withdraw` (e.g. a withdrawal counter). Listeners run synchronously;
   * one that throws is logged, never breaks the combiner.
   */
  readonly events = new EventEmitter<CombinerEvents>();
  private readonly log: Logger;
  private readonly hub: ClientHub;
  private readonly link: ControllerLink;
  private readonly uploads: UploadBuffer;
  private readonly admission: Admission;
  private readonly control: RoundControl;
  private validation: ValidationPart | null = null;
  private closing = false;
  /** Parses updates on worker threads (null with `foldWorkers: 0`). */
  private readonly pool: FoldPool | null;

  constructor(opts: CombinerOptions) {
    this.id = opts.combinerId;
    this.clientUrl = opts.clientUrl;
    this.log = opts.log;
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.reconnectGraceMs = Math.max(0, opts.reconnectGraceMs ?? DEFAULT_RECONNECT_GRACE_MS);
    this.maxUploadAttempts = Math.max(1, Math.floor(opts.maxUploadAttempts ?? DEFAULT_MAX_UPLOAD_ATTEMPTS));
    const log = this.log;
    const workers = opts.foldWorkers ?? availableParallelism();
    this.pool = workers > 0 ? new FoldPool({ size: workers }) : null;
    const pool = this.pool;
    this.uploads = new UploadBuffer(opts.maxInflightBytes ?? 256 * 1024 * 1024);
    this.hub = new ClientHub(
      { combinerId: this.id, auth: opts.auth, log, heartbeatMs: this.heartbeatMs, maxClients: opts.maxClients ?? 20_000, helloTimeoutMs: opts.helloTimeoutMs ?? 10_000, maxPreAuthBytes: opts.maxPreAuthBytes ?? 64 * 1024 },
      {
        openTaskOf: (id) => this.control.round?.openTaskOf(id) ?? this.openStream()?.openTaskOf(id),
        countedRoundOf: (id) => this.control.round?.countedRoundOf(id),
        joined: (conn) => this.onJoined(conn),
        message: (conn, msg) => this.onClientMessage(conn, msg),
        binary: (conn, bytes) => this.admission.chunk(conn, bytes),
        detached: (conn) => this.uploads.forget(conn),
        left: (id) => {
          // A client that leaves mid-round is waited for only during the reconnect grace (its partial upload was
          // dropped: a resumed upload starts again from the first chunk).
          this.control.round?.left(id);
          this.validation?.maybeFinish();
        },
        changed: () => this.link.scheduleStatus(),
        announce: () => this.link.sendStatus(),
      },
    );
    this.link = new ControllerLink(this.id, log, this.heartbeatMs, () => this.hub.statusInfos());
    const client = (id: string): ClientConn | undefined => this.hub.get(id);
    const sendPartial = this.link.sendPartial.bind(this.link);
    const track = (p: Promise<void>): void => this.link.track(p);
    this.control = new RoundControl({
      log,
      compressor: opts.compressor,
      ...(pool ? { parser: (frame: Uint8Array, limits: Partial<FrameLimits> | undefined) => pool.parse(frame, limits) } : {}),
      maxUploadBytes: opts.maxUploadBytes,
      fetchBlob: opts.fetchBlob,
      joined: () => this.hub.joined(),
      send: (msg) => this.link.send(msg),
      roundDeps: {
        log,
        maxUploadAttempts: this.maxUploadAttempts,
        reconnectGraceMs: this.reconnectGraceMs,
        client,
        closing: () => this.closing,
        sendPartial: (roundId, partial, tally) => sendPartial(roundId, partial, tally, 'send the partial'),
        track,
      },
      streamDeps: {
        log,
        client,
        joined: () => this.hub.joined(),
        sendPartial: (streamId, partial, tally) => sendPartial(streamId, partial, tally, 'forward the update'),
        track,
      },
    });
    this.admission = new Admission({
      log,
      uploads: this.uploads,
      slots: new FoldSlots(opts.foldConcurrency ?? Math.max(2, this.pool?.size ?? 0)),
      maxUploadAttempts: this.maxUploadAttempts,
      counted: (conn) => this.hub.contributed(conn),
      ...(opts.observer ? { observer: opts.observer } : {}),
      collectorFor: (msg) => {
        const stream = this.control.stream;
        return stream?.owns(msg.taskId) ? stream : this.control.round;
      },
    });
  }

  // ------------------------------------------------------------------ introspection

  /** Connected clients that sent `hello`. */
  clientInfos(): ClientInfo[] {
    return this.hub.infos();
  }

  get clientCount(): number {
    return this.hub.size;
  }

  /** The round this combiner is collecting, if any. */
  get openRoundId(): string | null {
    const round = this.control.round;
    return round && round.state === 'collecting' ? round.id : null;
  }

  /** The open asynchronous stream and the version it builds now (its newest model is `round - 1`), if any. */
  get asyncStream(): { streamId: string; round: number } | null {
    const st = this.openStream();
    return st ? { streamId: st.id, round: st.round } : null;
  }

  /** For tests and `/healthz`: an error is never thrown from here. */
  health(): { combinerId: string; clients: number; openRoundId: string | null; controller: boolean; inflightBytes: number } {
    return { combinerId: this.id, clients: this.hub.size, openRoundId: this.openRoundId, controller: this.link.open, inflightBytes: this.uploads.inflightBytes };
  }

  private openStream() {
    const st = this.control.stream;
    return st && st.state === 'open' ? st : null;
  }

  // ------------------------------------------------------------------ controller link

  /**
   * Uses `peer` as the link to the controller: announces this combiner and its clients. Messages from the
   * controller must be passed to {@link Combiner.handleControllerMessage} / `handleControllerClosed` by the
   * owner of the peer (see `connectController`).
   */
  attachController(peer: Peer, token?: string): void {
    this.link.attach(peer, this.clientUrl, token);
  }

  /** The controller link dropped: whatever round was open can no longer be reduced, so it is abandoned. */
  handleControllerClosed(): void {
    this.link.detach();
    this.control.abortAll('controller link lost', 'link lost');
    this.validation?.finish(false);
  }

  /** A message from the controller. Never throws; a `round.start` that fails is answered with an `error`. */
  handleControllerMessage(msg: Message): void {
    switch (msg.kind) {
      case 'round.prepare':
        return this.control.prepare(msg);
      case 'round.start':
        return void this.control.start(msg);
      case 'round.abort':
        // A round stopped while it validates ends its validation part too (its tasks are cancelled).
        if (this.validation?.roundId === msg.roundId) this.validation.finish(false);
        return this.control.abort(msg.roundId, msg.reason);
      case 'validate.start':
        return this.onValidateStart(msg);
      case 'model.ready': {
        // Every connected client may take part in the next round: each prefetches the model (README "Delta downloads").
        const prefetch = { v: 2, kind: 'model.prefetch', sessionId: msg.sessionId, model: msg.model, download: msg.download } as const;
        for (const conn of this.hub.joined()) conn.peer.send(prefetch);
        return;
      }
      case 'error':
        this.log.warn({ code: msg.code, ref: msg.ref }, `controller says: ${msg.message}`);
        return;
      default:
        this.log.warn({ kind: msg.kind }, 'unexpected message from the controller');
        this.link.send({ v: 2, kind: 'error', code: 'BAD_MESSAGE', message: `a combiner does not accept '${msg.kind}'` });
    }
  }

  private onValidateStart(msg: MessageOf<'validate.start'>): void {
    this.validation?.finish(false);
    const part = new ValidationPart(msg, {
      combinerId: this.id,
      log: this.log,
      client: (id) => this.hub.get(id),
      report: (m) => void this.link.send(m),
      ended: (p) => void (this.validation === p && (this.validation = null)),
    });
    this.validation = part;
    part.open();
  }

  // ------------------------------------------------------------------ clients

  /**
   * Takes over a client WebSocket. The first message must be `hello` (within `helloTimeoutMs`).
   * `httpToken` is a bearer token from the upgrade request (header or `?token=`), used when `hello` has none.
   * `raw`: the upgraded TCP socket (`req.socket`), so that what it sends before `hello` is bounded.
   * `reqId`: the upgrade request's id, on every log line about this connection.
   */
  attachClient(ws: WebSocket, httpToken?: string, raw?: Socket, reqId?: string): void {
    this.hub.attach(ws, httpToken, raw, reqId);
  }

  /** A client joined: an async stream's task (the same again, or a fresh one), its round task, its validation task. */
  private onJoined(conn: ClientConn): void {
    this.openStream()?.taskIdle(conn);
    this.control.round?.rejoined(conn);
    this.validation?.rejoined(conn);
  }

  private onClientMessage(conn: ClientConn, msg: Message): void {
    switch (msg.kind) {
      case 'update':
        return this.admission.announced(conn, msg);
      case 'validation':
        return this.validation ? this.validation.received(conn, msg) : refuseValidation(conn, msg);
      case 'withdraw':
        return this.onWithdraw(conn, msg);
      case 'error':
        this.log.info({ clientId: conn.clientId, reqId: conn.reqId, code: msg.code, ref: msg.ref }, `client reports: ${msg.message}`);
        if (msg.ref) {
          this.control.round?.gaveUp(conn.clientId as string, msg.ref);
          this.validation?.gaveUp(conn.clientId as string, msg.ref);
        }
        return;
      default:
        sendClientError(conn, fedError('BAD_MESSAGE', `a client may not send '${msg.kind}'`));
    }
  }

  /**
   * A client leaves its round (or async task) early. It can only speak for itself: the message names no client,
   * the authenticated socket does. The capabilities it read go to selection at once, so it is not picked again
   * while the condition holds; its slot is freed, or a typed error says why nothing was freed.
   */
  private onWithdraw(conn: ClientConn, msg: MessageOf<'withdraw'>): void {
    const clientId = conn.clientId as string;
    if (msg.capabilities) conn.capabilities = msg.capabilities;
    const round = this.control.round;
    const stream = this.openStream();
    const err =
      round && round.id === msg.roundId
        ? round.withdraw(clientId)
        : stream
          ? stream.withdraw(clientId, msg.roundId)
          : fedError('STALE_ROUND', `round ${msg.roundId} is not open on this combiner`);
    if (err) {
      this.log.info({ clientId, roundId: msg.roundId, code: err.code }, `withdraw refused: ${err.message}`);
      return sendClientError(conn, err, msg.roundId);
    }
    this.log.info({ clientId, roundId: msg.roundId, reason: msg.reason }, 'client withdrew; its slot is freed');
    this.link.scheduleStatus();
    try {
      this.events.emit('withdrawn', { clientId, roundId: msg.roundId, reason: msg.reason });
    } catch (e) {
      this.log.warn({ err: (e as Error)?.message }, "a 'withdrawn' listener threw");
    }
  }

  // ------------------------------------------------------------------ shutdown

  /** Closes every client socket and stops timers. Waits (bounded) for a partial being sent. */
  async close(): Promise<void> {
    this.closing = true;
    const linkClosed = this.link.close();
    this.control.abortAll('combiner shutting down', 'shutdown');
    this.validation?.finish(false);
    this.hub.closeAll();
    await linkClosed;
    this.hub.terminateAll();
    await this.pool?.close();
  }
}
