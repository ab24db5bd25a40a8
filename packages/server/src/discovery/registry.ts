/**
 * discovery/ owns which combiners are live, which clients each holds, and where a new client is sent.
 *
 * The controller's view of the combiners (who is connected, which clients each one holds, from
 * `combiner.status`) and the assignment of clients to combiners through a pluggable {@link DiscoveryPolicy}
 * (policy.ts). Messages that answer the round loop's requests go on to its waits (combiner-waits.ts). In FEDn's
 * terms this is the controller tier's discovery service (https://docs.scaleoutsystems.com/en/stable/architecture.html).
 */
import { fedError, type ClientInfo, type Message, type MessageOf } from '@fedweb/codec';
import { redactUrl, type Logger } from '../log.js';
import { guard, type Peer } from '../transport.js';
import { CombinerWaits, type CombinerLink, type Outcome, type ReceivedPartial } from './combiner-waits.js';
import { leastLoaded, type CombinerLoad, type DiscoveryPolicy } from './policy.js';

/** A combiner connected to the controller. */
export interface CombinerHandle extends CombinerLink {
  /** URL clients dial (absolute `ws://...` or a path on the controller's origin for the embedded one). */
  url: string;
  embedded: boolean;
  connectedAt: number;
  lastStatusAt: number;
  clients: Map<string, ClientInfo>;
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
 * The live combiners, their clients, discovery, and (through {@link CombinerWaits}) the round loop's requests.
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
  /** The round loop's waits on combiners (answers, partials, validation results). */
  private readonly waits: CombinerWaits;

  constructor(
    private readonly log: Logger,
    private readonly events: RegistryEvents,
    private readonly policy: DiscoveryPolicy = leastLoaded,
    maxPartialBytes = 2 * 1024 * 1024 * 1024 - 1,
  ) {
    this.waits = new CombinerWaits(log, (id) => this.combiners.get(id), maxPartialBytes);
  }

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
   * Registers a combiner after its `combiner.hello`.
   * @throws FedError CONFLICT when a live link already holds that id: a hello never takes over a live combiner
   * (a combiner whose old link died is let in once the controller's keepalive has closed that link).
   */
  register(hello: MessageOf<'combiner.hello'>, peer: Peer, embedded: boolean): CombinerHandle {
    const old = this.combiners.get(hello.combinerId);
    if (old && old.peer !== peer && old.peer.open) {
      throw fedError('CONFLICT', `combiner id '${hello.combinerId}' is already connected; a second link for it is refused`);
    }
    if (old && old.peer !== peer) this.drop(old, 'its link closed');
    const now = Date.now();
    const handle: CombinerHandle = { id: hello.combinerId, url: hello.url, embedded, connectedAt: now, lastStatusAt: now, clients: new Map(), peer };
    this.combiners.set(handle.id, handle);
    this.log.info({ combinerId: handle.id, url: redactUrl(handle.url), embedded }, 'combiner connected');
    guard(this.log, 'connected event', () => this.events.connected(handle));
    return handle;
  }

  /** The combiner's link closed (or it was replaced): fail every wait on it. */
  drop(handle: CombinerHandle, reason: string): void {
    if (this.combiners.get(handle.id) !== handle) return;
    this.combiners.delete(handle.id);
    this.log.warn({ combinerId: handle.id, reason }, 'combiner disconnected');
    const err = fedError('UNAVAILABLE', `combiner ${handle.id} disconnected: ${reason}`);
    this.waits.dropCombiner(handle, err);
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
        return this.waits.ready(handle, msg.roundId, msg.eligible);
      case 'round.partial':
        return this.waits.partialAnnounced(handle, msg);
      case 'validate.partial':
        return this.waits.validation(handle, msg);
      case 'error': {
        this.log.warn({ combinerId: handle.id, code: msg.code, ref: msg.ref }, `combiner error: ${msg.message}`);
        if (msg.ref) {
          const err = fedError(msg.code, `combiner ${handle.id}: ${msg.message}`);
          this.waits.combinerError(handle, msg.ref, err);
        }
        return;
      }
      default:
        handle.peer.send({ v: 2, kind: 'error', code: 'BAD_MESSAGE', message: `the controller does not accept '${msg.kind}' from a combiner` });
    }
  }

  /** Binary data from a combiner: chunks of a partial. */
  handleBinary(handle: CombinerHandle, bytes: Uint8Array): void {
    this.waits.chunk(handle, bytes);
  }

  /** A whole partial frame from the embedded combiner (memory link, transport.ts `handOver`). */
  handleFrame(handle: CombinerHandle, uploadId: string, frame: Uint8Array): void {
    this.waits.frame(handle, uploadId, frame);
  }

  /**
   * Registers the wait BEFORE the request is sent (so a fast answer is not missed), then sends it.
   * `maxPartialBytes`: for a partial, the largest frame the combiner may announce (see `maxPartialFrameBytes`).
   */
  request<T>(kind: 'ready' | 'partial' | 'validation', handle: CombinerHandle, roundId: string, msg: Parameters<Peer['send']>[0], timeoutMs: number, signal?: AbortSignal, maxPartialBytes?: number): Promise<Outcome<T>> {
    return this.waits.request<T>(kind, handle, roundId, msg, timeoutMs, signal, maxPartialBytes);
  }

  /**
   * Asynchronous sessions: every partial `handle` sends for the stream `roundId` goes to `listener` (see
   * {@link CombinerWaits.streamPartials}) until the returned function is called.
   * @example
   * ```ts
   * const stop = registry.streamPartials(handle, streamId, (o) => queue.push({ handle, o }), maxPartialFrameBytes(paramCount, 1));
   * ```
   */
  streamPartials(handle: CombinerHandle, roundId: string, listener: (outcome: Outcome<ReceivedPartial>) => void, maxPartialBytes?: number): () => void {
    return this.waits.streamPartials(handle, roundId, listener, maxPartialBytes);
  }

  /** Closes every combiner link. */
  closeAll(): void {
    for (const c of [...this.combiners.values()]) {
      this.drop(c, 'controller shutting down');
      c.peer.close(1001, 'controller shutting down');
    }
  }
}
