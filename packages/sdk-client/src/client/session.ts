/**
 * The client's presence at its combiner: discover over HTTP -> one WebSocket -> hello -> welcome, heartbeats while
 * joined, and reconnecting with backoff until stopped or refused for good.
 */
import { PROTOCOL_VERSION, fedError, toFedError, type Capabilities, type FedError, type Message, type MessageOf } from '@fedweb/codec';
import { Connection } from '../transport/connection.js';
import { discover } from '../transport/http.js';
import type { BackendReport } from '../trainer/api.js';
import { sleep } from './abort.js';
import { backoffDelay } from '@fedweb/codec';
import { withBackend } from './capabilities.js';
import type { ClientContext } from './context.js';
import { isPermanent, typedByServer } from './fatal.js';

/**
 * The SDK version sent in `hello`.
 * @example
 * ```ts
 * console.log(`fedweb client ${SDK_VERSION}`);
 * ```
 */
export const SDK_VERSION = '0.1.0';

/** WebSocket close code a combiner uses when a newer connection with the same client id replaced this one. */
const CLOSE_REPLACED = 4000;
/**
 * A connection that lasted this long was healthy: the reconnect backoff starts over after it. A shorter one (a
 * server that welcomes and drops, or replaces us with a twin) keeps the backoff growing, so no loop runs hot.
 */
const STABLE_CONNECTION_MS = 30_000;

/**
 * What the session tells its owner.
 * @example
 * ```ts
 * const hooks: SessionHooks = { onMessage: route, onWelcome: (w) => resume(w), backend: () => host.backend };
 * ```
 */
export interface SessionHooks {
  /** A control message from the combiner, outside any wait for a reply. */
  onMessage(message: Message): void;
  /** The combiner welcomed this client (status is `connected`); called once per connection. */
  onWelcome(welcome: MessageOf<'welcome'>): void;
  /** The backend in use, reported with the capabilities. */
  backend(): BackendReport | undefined;
  /** Capabilities were read for a heartbeat (on its interval, or on a device change) and sent. */
  onCapabilities?(capabilities: Capabilities): void;
}

/**
 * Keeps one connection to the assigned combiner.
 * @example
 * ```ts
 * const session = new Session(ctx, { onMessage, onWelcome, backend: () => undefined });
 * await session.run(stopSignal); // returns when stopped; throws a fatal refusal (UNAUTHORIZED, CONFLICT, ...)
 * ```
 */
export class Session {
  #conn: Connection | undefined;
  #combinerId: string | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #offDevice: (() => void) | undefined;

  constructor(
    private readonly ctx: ClientContext,
    private readonly hooks: SessionHooks,
  ) {}

  /** The welcomed connection, until it closes. */
  get connection(): Connection | undefined {
    return this.#conn;
  }

  /** The combiner this client is joined to, while joined. */
  get combinerId(): string | undefined {
    return this.#conn ? this.#combinerId : undefined;
  }

  /** Closes the current connection (the loop then ends if stopping, or reconnects). */
  close(reason: string): void {
    this.#conn?.close(1000, reason);
  }

  /**
   * Connects and keeps connecting (with capped, jittered backoff, forever) until `signal` aborts. Throws only a
   * permanent refusal (see fatal.ts: the server's typed `UNAUTHORIZED`, `FORBIDDEN` or `VERSION_MISMATCH`), and
   * never with `retry: 'always'`.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { reporter } = this.ctx;
    let failures = 0;
    let connectedOnce = false;
    while (!signal.aborted) {
      let conn: Connection | undefined;
      let lostWith: FedError | undefined;
      try {
        reporter.setStatus(connectedOnce ? 'reconnecting' : 'connecting');
        conn = await this.#join(signal);
        const joinedAt = Date.now();
        connectedOnce = true;
        const closed = await conn.closed;
        if (Date.now() - joinedAt >= STABLE_CONNECTION_MS) failures = 0;
        if (closed.code === CLOSE_REPLACED) {
          // Another tab or process joined with this client id. Retried (the twin may be gone by then), with a
          // backoff that keeps growing while the two keep replacing each other.
          lostWith = fedError(
            'CONFLICT',
            `another FedClient joined as '${this.ctx.clientId()}' and replaced this one; only one client per id may be online (give each instance its own \`id\` or \`cache\`); will retry with backoff`,
          );
        } else {
          lostWith = fedError('UNAVAILABLE', `connection to combiner ${this.#combinerId} closed (code ${closed.code}${closed.reason ? `: ${closed.reason}` : ''})`);
        }
      } catch (e) {
        const err = toFedError(e);
        if (signal.aborted) break;
        if (isPermanent(err, this.ctx.options.retry)) throw err;
        lostWith = err;
      } finally {
        this.stopHeartbeat();
        if (this.#conn === conn) this.#conn = undefined;
        conn?.close(1000, 'reconnecting');
      }
      if (signal.aborted) break;
      const delay = backoffDelay(failures++, this.ctx.options.backoff);
      if (lostWith && lostWith.code !== 'UNAVAILABLE') reporter.error(lostWith);
      reporter.setStatus('reconnecting', { retryInMs: delay, attempt: failures, ...(lostWith ? { error: lostWith } : {}) });
      try {
        await sleep(delay, signal);
      } catch {
        break;
      }
    }
  }

  /** discover -> WebSocket -> hello -> welcome; on success the connection is current and heartbeats run. */
  async #join(signal: AbortSignal): Promise<Connection> {
    const { endpoint, timeouts, reporter } = this.ctx;
    const token = await endpoint.token(signal);
    const found = await discover(this.ctx.clientId(), endpoint.http(signal, timeouts.discoverMs, token));
    // Discovery may name any URL: the client (and its token, sent in `hello`) only goes to trusted origins.
    endpoint.checkOrigin(found.url, 'the combiner URL from discovery');
    const conn = await Connection.open(
      found.url,
      this.ctx.platform.WebSocket,
      { onMessage: (m) => this.hooks.onMessage(m), onBadInput: (e, taskId) => this.#badInput(e, taskId) },
      { signal, timeoutMs: timeouts.connectMs },
    );
    try {
      const reply = conn.waitFor((m) => m.kind === 'welcome' || m.kind === 'error', { timeoutMs: timeouts.welcomeMs, signal, what: "the combiner's welcome" });
      reply.catch(() => {});
      conn.send({
        v: PROTOCOL_VERSION,
        kind: 'hello',
        clientId: this.ctx.clientId(),
        ...(token ? { token } : {}),
        capabilities: await this.capabilities(),
        sdkVersion: SDK_VERSION,
      });
      const welcome = await reply;
      if (welcome.kind === 'error') throw typedByServer(fedError(welcome.code, `the combiner refused to join: ${welcome.message}`));
      this.#conn = conn;
      this.#combinerId = welcome.combinerId;
      this.#startHeartbeat(conn, welcome.heartbeatMs);
      reporter.setStatus('connected');
      this.hooks.onWelcome(welcome);
      return conn;
    } catch (e) {
      conn.close(1000, 'reconnecting');
      throw e;
    }
  }

  /** A message that failed validation: reported; a task among them is refused to the combiner at once. */
  #badInput(err: FedError, taskId: string | undefined): void {
    this.ctx.reporter.error(err);
    const conn = this.#conn;
    if (!taskId || !conn?.isOpen) return;
    try {
      conn.send({ v: PROTOCOL_VERSION, kind: 'error', code: err.code, message: `task ${taskId} refused: ${err.message}`.slice(0, 2000), ref: taskId });
    } catch {
      // Gone: the combiner times the task out.
    }
  }

  /** The platform's capabilities plus the backend in use (sent in `hello` and heartbeats). */
  async capabilities(): Promise<Capabilities> {
    const platform = this.ctx.platform;
    let caps: Capabilities;
    try {
      caps = await platform.capabilities();
    } catch {
      caps = { platform: platform.name };
    }
    return withBackend({ ...caps, platform: platform.name }, this.hooks.backend());
  }

  #startHeartbeat(conn: Connection, everyMs: number): void {
    this.stopHeartbeat();
    const beat = () => {
      void this.capabilities()
        .then((capabilities) => {
          if (conn.isOpen) conn.send({ v: PROTOCOL_VERSION, kind: 'heartbeat', t: Date.now(), capabilities });
          this.hooks.onCapabilities?.(capabilities);
        })
        .catch((e) => {
          // A send racing a close: the loop reconnects; nothing else to do here.
          if (conn.isOpen) this.ctx.reporter.error(toFedError(e));
        });
    };
    this.#heartbeat = setInterval(beat, everyMs);
    // Battery, connection and visibility matter to selection and withdrawal: tell the server, and check, at once.
    this.#offDevice = this.ctx.platform.onDeviceChange?.(beat);
  }

  /** Stops heartbeats (when the connection ends, and at shutdown). */
  stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#offDevice?.();
    this.#offDevice = undefined;
  }
}
