/**
 * discovery/ owns which combiners are live, which clients each holds, and where a new client is sent.
 *
 * The controller's view of the combiners (who is connected, which clients each one holds, from
 * `combiner.status`), the assignment of clients to combiners through a pluggable {@link DiscoveryPolicy}, and
 * the per-round waits (ready / partial / validation) that the round loop awaits. In FEDn's terms this is the
 * controller tier's discovery service (https://docs.scaleoutsystems.com/en/stable/architecture.html).
 */
import { ChunkAssembler, fedError, parseChunk, toFedError, type ClientInfo, type FedError, type Message, type MessageOf } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { guard, type Peer } from '../transport.js';
import { leastLoaded, type CombinerLoad, type DiscoveryPolicy } from './policy.js';

/** A combiner connected to the controller. */
export interface CombinerHandle {
  id: string;
  /** URL clients dial (absolute `ws://...` or a path on the controller's origin for the embedded one). */
  url: string;
  embedded: boolean;
  connectedAt: number;
  lastStatusAt: number;
  clients: Map<string, ClientInfo>;
  peer: Peer;
}

interface PartialUpload {
  meta: MessageOf<'round.partial'>;
  assembler: ChunkAssembler;
}

/** A combiner's partial as the reducer receives it (frame reassembled and SHA-256 checked). */
export interface ReceivedPartial {
  meta: MessageOf<'round.partial'>;
  frame: Uint8Array;
  receivedAt: number;
}

/** A wait's or a stream's result. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: FedError };

/** One outstanding wait of the round loop on a combiner. */
interface Waiter<T> {
  resolve(outcome: Outcome<T>): void;
}

const PENDING_ASSIGNMENT_MS = 15_000;
/**
 * A client that left a live combiner is sent back to it when it rediscovers within this window: that combiner
 * keeps its slot in the open round for the reconnect grace (a reloading browser tab), another one does not know it.
 */
const RETURN_TO_LAST_MS = 60_000;

export interface RegistryEvents {
  /** A combiner sent `combiner.status`: the clients it holds now. */
  status(combiner: CombinerHandle, clients: ClientInfo[]): void;
  connected(combiner: CombinerHandle): void;
  disconnected(combiner: CombinerHandle): void;
}

/**
 * The live combiners, their clients, discovery, and the per-round waits of the round loop.
 * @example
 * ```ts
 * const handle = registry.assign('kiosk-17'); // least-loaded live combiner
 * const ready = await registry.request('ready', handle, roundId, prepareMsg, 5000);
 * ```
 */
export class CombinerRegistry {
  private readonly combiners = new Map<string, CombinerHandle>();
  /** clientId -> (combinerId, when) for clients sent to a combiner that did not report them yet. */
  private readonly assignments = new Map<string, { combinerId: string; at: number }>();
  /** clientId -> (combinerId, when) for clients that recently left a combiner's status. */
  private readonly departed = new Map<string, { combinerId: string; at: number }>();
  private readonly readyWaits = new Map<string, Waiter<string[]>>();
  private readonly partialWaits = new Map<string, Waiter<ReceivedPartial>>();
  private readonly validationWaits = new Map<string, Waiter<MessageOf<'validate.partial'>>>();
  private readonly uploads = new Map<string, PartialUpload>();
  /** Asynchronous sessions: every partial of (combiner, stream id) goes to a listener instead of one wait. */
  private readonly partialStreams = new Map<string, (outcome: Outcome<ReceivedPartial>) => void>();

  constructor(
    private readonly log: Logger,
    private readonly events: RegistryEvents,
    private readonly policy: DiscoveryPolicy = leastLoaded,
    private readonly maxPartialBytes = 2 * 1024 * 1024 * 1024 - 1,
  ) {}

  list(): CombinerHandle[] {
    return [...this.combiners.values()];
  }

  get(id: string): CombinerHandle | undefined {
    return this.combiners.get(id);
  }

  /** Which live combiner holds this client now, if any. */
  combinerOf(clientId: string): CombinerHandle | undefined {
    for (const c of this.combiners.values()) if (c.clients.has(clientId)) return c;
    return undefined;
  }

  // ------------------------------------------------------------------ discovery

  /**
   * Assigns a client to a combiner: the one already holding it, else the live one it left less than a minute
   * ago (so a reconnect finds its slot in the open round), else the policy's choice.
   * @throws FedError UNAVAILABLE when no combiner is connected.
   */
  assign(clientId: string): CombinerHandle {
    const current = this.combinerOf(clientId);
    if (current) return current;
    const now = Date.now();
    for (const [id, d] of this.departed) if (now - d.at > RETURN_TO_LAST_MS || !this.combiners.has(d.combinerId)) this.departed.delete(id);
    const last = this.departed.get(clientId);
    const lastHandle = last ? this.combiners.get(last.combinerId) : undefined;
    if (lastHandle) return lastHandle;
    for (const [id, a] of this.assignments) if (now - a.at > PENDING_ASSIGNMENT_MS || !this.combiners.has(a.combinerId)) this.assignments.delete(id);
    const pending = new Map<string, number>();
    for (const [id, a] of this.assignments) if (id !== clientId) pending.set(a.combinerId, (pending.get(a.combinerId) ?? 0) + 1);
    const loads: CombinerLoad[] = this.list().map((c) => ({ id: c.id, url: c.url, embedded: c.embedded, load: c.clients.size + (pending.get(c.id) ?? 0) }));
    const chosen = loads.length ? this.policy(clientId, loads) : null;
    const handle = chosen === null ? undefined : this.combiners.get(chosen);
    if (!handle) throw fedError('UNAVAILABLE', 'no combiner is available; retry shortly');
    this.assignments.set(clientId, { combinerId: handle.id, at: now });
    return handle;
  }

  // ------------------------------------------------------------------ connections

  /**
   * Registers a combiner after its `combiner.hello`. A second hello with the same id replaces the old link.
   */
  register(hello: MessageOf<'combiner.hello'>, peer: Peer, embedded: boolean): CombinerHandle {
    const old = this.combiners.get(hello.combinerId);
    if (old && old.peer !== peer) {
      this.log.warn({ combinerId: hello.combinerId }, 'combiner re-registered; dropping its old link');
      this.drop(old, 'replaced by a new connection');
      old.peer.close(4000, 'replaced');
    }
    const now = Date.now();
    const handle: CombinerHandle = { id: hello.combinerId, url: hello.url, embedded, connectedAt: now, lastStatusAt: now, clients: new Map(), peer };
    this.combiners.set(handle.id, handle);
    this.log.info({ combinerId: handle.id, url: handle.url, embedded }, 'combiner connected');
    guard(this.log, 'connected event', () => this.events.connected(handle));
    return handle;
  }

  /** The combiner's link closed (or it was replaced): fail every wait on it. */
  drop(handle: CombinerHandle, reason: string): void {
    if (this.combiners.get(handle.id) !== handle) return;
    this.combiners.delete(handle.id);
    this.log.warn({ combinerId: handle.id, reason }, 'combiner disconnected');
    const err = fedError('UNAVAILABLE', `combiner ${handle.id} disconnected: ${reason}`);
    for (const waits of [this.readyWaits, this.partialWaits, this.validationWaits] as Map<string, Waiter<unknown>>[]) {
      for (const [key, w] of waits) {
        if (key.startsWith(`${handle.id}\u0000`)) {
          waits.delete(key);
          w.resolve({ ok: false, error: err });
        }
      }
    }
    for (const key of this.uploads.keys()) if (key.startsWith(`${handle.id}\u0000`)) this.uploads.delete(key);
    for (const [key, listener] of this.partialStreams) {
      if (key.startsWith(`${handle.id}\u0000`)) {
        this.partialStreams.delete(key);
        guard(this.log, 'partial stream', () => listener({ ok: false, error: err }));
      }
    }
    guard(this.log, 'disconnected event', () => this.events.disconnected(handle));
  }

  /** Routes a message from a registered combiner. */
  handleMessage(handle: CombinerHandle, msg: Message): void {
    switch (msg.kind) {
      case 'combiner.status': {
        const now = Date.now();
        handle.lastStatusAt = now;
        const before = handle.clients;
        handle.clients = new Map(msg.clients.map((c) => [c.clientId, c]));
        for (const id of before.keys()) if (!handle.clients.has(id)) this.departed.set(id, { combinerId: handle.id, at: now });
        for (const c of msg.clients) {
          this.assignments.delete(c.clientId);
          this.departed.delete(c.clientId);
        }
        // A client lives on one combiner: if it moved here, forget it elsewhere.
        for (const other of this.combiners.values()) {
          if (other === handle) continue;
          for (const c of msg.clients) if (other.clients.get(c.clientId) && (other.clients.get(c.clientId)?.lastSeen ?? 0) <= c.lastSeen) other.clients.delete(c.clientId);
        }
        guard(this.log, 'status event', () => this.events.status(handle, msg.clients));
        return;
      }
      case 'round.ready':
        return this.settle(this.readyWaits, handle.id, msg.roundId, { ok: true, value: msg.eligible });
      case 'round.partial': {
        const key = `${handle.id}\u0000${msg.uploadId}`;
        if (msg.combinerId !== handle.id) {
          handle.peer.send({ v: 1, kind: 'error', code: 'BAD_MESSAGE', message: `partial says combiner ${msg.combinerId}, link is ${handle.id}`, ref: msg.roundId });
          return;
        }
        if (msg.byteLength > this.maxPartialBytes || msg.chunkCount === 0) {
          return this.failPartial(handle, msg.roundId, fedError('FRAME_TOO_LARGE', `partial of ${msg.byteLength} bytes in ${msg.chunkCount} chunks refused`));
        }
        try {
          const assembler = new ChunkAssembler({ uploadId: msg.uploadId, chunkCount: msg.chunkCount, totalBytes: msg.byteLength, maxBytes: this.maxPartialBytes });
          this.uploads.set(key, { meta: msg, assembler });
        } catch (e) {
          this.failPartial(handle, msg.roundId, toFedError(e, 'BAD_MESSAGE'));
        }
        return;
      }
      case 'validate.partial':
        return this.settle(this.validationWaits, handle.id, msg.roundId, { ok: true, value: msg });
      case 'error': {
        this.log.warn({ combinerId: handle.id, code: msg.code, ref: msg.ref }, `combiner error: ${msg.message}`);
        if (msg.ref) {
          const err = fedError(msg.code, `combiner ${handle.id}: ${msg.message}`);
          this.settle(this.readyWaits, handle.id, msg.ref, { ok: false, error: err });
          this.settle(this.partialWaits, handle.id, msg.ref, { ok: false, error: err });
          this.settle(this.validationWaits, handle.id, msg.ref, { ok: false, error: err });
          this.toStream(handle.id, msg.ref, { ok: false, error: err });
        }
        return;
      }
      default:
        handle.peer.send({ v: 1, kind: 'error', code: 'BAD_MESSAGE', message: `the controller does not accept '${msg.kind}' from a combiner` });
    }
  }

  /** Binary data from a combiner: chunks of a partial. */
  handleBinary(handle: CombinerHandle, bytes: Uint8Array): void {
    let chunk;
    try {
      chunk = parseChunk(bytes);
    } catch (e) {
      handle.peer.send({ v: 1, kind: 'error', code: 'BAD_CHUNK', message: toFedError(e).message.slice(0, 2000) });
      return;
    }
    const key = `${handle.id}\u0000${chunk.uploadId}`;
    const upload = this.uploads.get(key);
    if (!upload) {
      handle.peer.send({ v: 1, kind: 'error', code: 'BAD_CHUNK', message: `no partial announced for upload ${chunk.uploadId}`, ref: chunk.uploadId });
      return;
    }
    let frame: Uint8Array | null;
    try {
      frame = upload.assembler.push(bytes);
    } catch (e) {
      this.uploads.delete(key);
      return this.failPartial(handle, upload.meta.roundId, toFedError(e, 'BAD_CHUNK'));
    }
    if (!frame) return;
    this.uploads.delete(key);
    if (upload.meta.sha256 && sha256Node(frame) !== upload.meta.sha256) {
      return this.failPartial(handle, upload.meta.roundId, fedError('HASH_MISMATCH', `partial of ${handle.id} does not match its SHA-256`));
    }
    const received: Outcome<ReceivedPartial> = { ok: true, value: { meta: upload.meta, frame, receivedAt: Date.now() } };
    if (this.toStream(handle.id, upload.meta.roundId, received)) return;
    this.settle(this.partialWaits, handle.id, upload.meta.roundId, received);
  }

  /** Hands an outcome to the stream listener of (combiner, roundId), if there is one. */
  private toStream(combinerId: string, roundId: string, outcome: Outcome<ReceivedPartial>): boolean {
    const listener = this.partialStreams.get(`${combinerId}\u0000${roundId}`);
    if (!listener) return false;
    guard(this.log, 'partial stream', () => listener(outcome));
    return true;
  }

  /**
   * Asynchronous sessions: delivers EVERY partial `handle` sends for `roundId` (the stream id) to `listener`,
   * and a failure (bad partial, combiner error, combiner gone) as `{ ok: false }`, until the returned function
   * is called. A combiner that disconnects ends its stream after one failure outcome.
   * @example
   * ```ts
   * const stop = registry.streamPartials(handle, streamId, (o) => queue.push({ handle, o }));
   * ```
   */
  streamPartials(handle: CombinerHandle, roundId: string, listener: (outcome: Outcome<ReceivedPartial>) => void): () => void {
    const key = `${handle.id}\u0000${roundId}`;
    if (this.combiners.get(handle.id) !== handle) {
      queueMicrotask(() => listener({ ok: false, error: fedError('UNAVAILABLE', `combiner ${handle.id} is gone`) }));
      return () => undefined;
    }
    this.partialStreams.set(key, listener);
    return () => {
      if (this.partialStreams.get(key) === listener) this.partialStreams.delete(key);
    };
  }

  private failPartial(handle: CombinerHandle, roundId: string, err: FedError): void {
    this.log.warn({ combinerId: handle.id, roundId, code: err.code }, `partial refused: ${err.message}`);
    handle.peer.send({ v: 1, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: roundId });
    if (this.toStream(handle.id, roundId, { ok: false, error: err })) return;
    this.settle(this.partialWaits, handle.id, roundId, { ok: false, error: err });
  }

  private settle<T>(waits: Map<string, Waiter<T>>, combinerId: string, roundId: string, outcome: Outcome<T>): void {
    const key = `${combinerId}\u0000${roundId}`;
    const w = waits.get(key);
    if (!w) {
      if (outcome.ok) this.log.debug({ combinerId, roundId }, 'late or unexpected answer ignored');
      return;
    }
    waits.delete(key);
    w.resolve(outcome);
  }

  // ------------------------------------------------------------------ waits used by the round loop

  private wait<T>(waits: Map<string, Waiter<T>>, combinerId: string, roundId: string, timeoutMs: number, signal?: AbortSignal): Promise<Outcome<T>> {
    const key = `${combinerId}\u0000${roundId}`;
    return new Promise<Outcome<T>>((resolve) => {
      if (!this.combiners.has(combinerId)) return resolve({ ok: false, error: fedError('UNAVAILABLE', `combiner ${combinerId} is gone`) });
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish({ ok: false, error: fedError('ABORTED', 'round aborted') });
      const finish = (o: Outcome<T>): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (waits.get(key) === waiter) waits.delete(key);
        resolve(o);
      };
      const waiter: Waiter<T> = { resolve: finish };
      waits.get(key)?.resolve({ ok: false, error: fedError('ABORTED', 'superseded') });
      waits.set(key, waiter);
      timer = setTimeout(() => finish({ ok: false, error: fedError('TIMEOUT', `combiner ${combinerId} did not answer within ${timeoutMs} ms`) }), Math.max(0, timeoutMs));
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /** Registers the wait BEFORE the request is sent (so a fast answer is not missed), then sends it. */
  request<T>(
    kind: 'ready' | 'partial' | 'validation',
    handle: CombinerHandle,
    roundId: string,
    msg: Parameters<Peer['send']>[0],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Outcome<T>> {
    const waits = (kind === 'ready' ? this.readyWaits : kind === 'partial' ? this.partialWaits : this.validationWaits) as unknown as Map<string, Waiter<T>>;
    const p = this.wait(waits, handle.id, roundId, timeoutMs, signal);
    if (!handle.peer.send(msg)) {
      this.settle(waits, handle.id, roundId, { ok: false, error: fedError('UNAVAILABLE', `cannot reach combiner ${handle.id}`) });
    }
    return p;
  }

  /** Closes every combiner link. */
  closeAll(): void {
    for (const c of [...this.combiners.values()]) {
      this.drop(c, 'controller shutting down');
      c.peer.close(1001, 'controller shutting down');
    }
  }
}
