/**
 * One WebSocket to the assigned combiner. Every inbound text frame is validated with the codec's
 * `parseMessage`; a bad one is reported (never thrown from the socket handler), and the connection stays up.
 */
import { encodeMessage, fedError, parseMessage, type FedError, type Message, type MessageInput, type MessageKind } from '@fedweb/codec';
import { abortReason, sleep } from '../client/abort.js';
import { SOCKET_OPEN, type SocketConstructor, type SocketLike } from './socket.js';

/**
 * CloseInfo
 * @example
 * ```ts
 * const { code, reason }: CloseInfo = await conn.closed;
 * ```
 */
export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * ConnectionHandlers
 * @example
 * ```ts
 * const handlers: ConnectionHandlers = { onMessage: (m) => route(m), onBadInput: (e) => report(e) };
 * ```
 */
export interface ConnectionHandlers {
  /** A valid control message arrived. */
  onMessage(message: Message): void;
  /**
   * Something arrived that is not a valid message (or binary data the client never expects). `taskId` names the
   * task when it was a task message whose fields are out of bounds (e.g. `localEpochs: 1e6`), so the combiner can
   * be told at once that the task is refused.
   */
  onBadInput(error: FedError, taskId?: string): void;
}

/**
 * OpenOptions
 * @example
 * ```ts
 * await Connection.open(url, WebSocket, handlers, { timeoutMs: 10_000, signal });
 * ```
 */
export interface OpenOptions {
  signal?: AbortSignal;
  /** Bound on the TCP + WebSocket handshake, ms. */
  timeoutMs: number;
}

/**
 * An open WebSocket speaking fedweb control messages.
 * @example
 * ```ts
 * const conn = await Connection.open('ws://127.0.0.1:8080/ws/client', WebSocket, { onMessage, onBadInput }, { timeoutMs: 10_000 });
 * conn.send({ v: 2, kind: 'heartbeat', t: Date.now() });
 * const info = await conn.closed;
 * ```
 */
export class Connection {
  /** Resolves once the socket is closed, by either side. */
  readonly closed: Promise<CloseInfo>;
  /** Aborts when the socket closes, so work bound to this connection stops with it. */
  readonly signal: AbortSignal;
  #closedResolve!: (c: CloseInfo) => void;
  readonly #ctl = new AbortController();
  #isClosed = false;
  readonly #waiters = new Set<{ match: (m: Message) => boolean; resolve: (m: Message) => void }>();

  private constructor(
    private readonly socket: SocketLike,
    readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.signal = this.#ctl.signal;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    socket.addEventListener('message', (ev) => this.#onData(ev.data));
    socket.addEventListener('close', (ev) => this.#markClosed({ code: ev.code, reason: ev.reason }));
    socket.addEventListener('error', () => {
      // 'error' is always followed by 'close'; the close carries what we act on.
    });
  }

  /**
   * Dials `url` and resolves when the socket is open. Rejects with `UNAVAILABLE` if it fails or closes first,
   * `TIMEOUT` after `timeoutMs`, or the signal's reason.
   */
  static open(url: string, Ctor: SocketConstructor, handlers: ConnectionHandlers, opts: OpenOptions): Promise<Connection> {
    const { signal, timeoutMs } = opts;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<Connection>((resolve, reject) => {
      let socket: SocketLike;
      try {
        socket = new Ctor(url);
        socket.binaryType = 'arraybuffer';
      } catch (e) {
        reject(fedError('BAD_CONFIG', `cannot open a WebSocket to '${url}': ${(e as Error).message}; check the server URL`, undefined, e));
        return;
      }
      let settled = false;
      const conn = new Connection(socket, url, handlers);
      const finish = (err?: FedError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          conn.close(1000, 'open aborted');
          reject(err);
        } else resolve(conn);
      };
      const onAbort = () => finish(abortReason(signal!));
      const timer = setTimeout(() => finish(fedError('TIMEOUT', `WebSocket ${url} did not open within ${timeoutMs} ms; will retry`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.addEventListener('open', () => finish());
      void conn.closed.then((c) =>
        finish(fedError('UNAVAILABLE', `WebSocket ${url} closed before opening (code ${c.code}${c.reason ? `: ${c.reason}` : ''}); will retry`)),
      );
    });
  }

  get isOpen(): boolean {
    return !this.#isClosed && this.socket.readyState === SOCKET_OPEN;
  }

  /** Bytes queued in the socket, not yet handed to the network. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Validates (the codec refuses to encode an invalid message) and sends a control message. */
  send<K extends MessageKind>(message: MessageInput<K>): void {
    const text = encodeMessage(message);
    this.#assertOpen();
    this.socket.send(text);
  }

  /** Sends one binary frame (a chunk). */
  sendBinary(bytes: Uint8Array): void {
    this.#assertOpen();
    this.socket.send(bytes);
  }

  /**
   * Waits until the socket's send buffer holds at most `maxBuffered` bytes, so a large upload is paced by the
   * network instead of piling up in memory. Rejects if the connection closes or the signal aborts.
   */
  async drain(maxBuffered: number, signal?: AbortSignal): Promise<void> {
    while (this.socket.bufferedAmount > maxBuffered) {
      this.#assertOpen();
      await sleep(10, signal);
    }
    this.#assertOpen();
  }

  /**
   * Resolves with the first message for which `match` is true (checked before `onMessage` sees it).
   * Rejects with `UNAVAILABLE` if the connection closes, `TIMEOUT` after `timeoutMs`, or the signal's reason.
   */
  waitFor<M extends Message>(match: (m: Message) => m is M, opts: { timeoutMs: number; signal?: AbortSignal; what: string }): Promise<M>;
  waitFor(match: (m: Message) => boolean, opts: { timeoutMs: number; signal?: AbortSignal; what: string }): Promise<Message>;
  waitFor(match: (m: Message) => boolean, opts: { timeoutMs: number; signal?: AbortSignal; what: string }): Promise<Message> {
    const { signal, timeoutMs, what } = opts;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#isClosed) return Promise.reject(fedError('UNAVAILABLE', `connection closed while waiting for ${what}`));
    return new Promise<Message>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
        this.signal.removeEventListener('abort', onClose);
      };
      const waiter = {
        match,
        resolve: (m: Message) => {
          cleanup();
          resolve(m);
        },
      };
      const onAbort = () => {
        cleanup();
        reject(abortReason(signal!));
      };
      const onClose = () => {
        cleanup();
        reject(fedError('UNAVAILABLE', `connection closed while waiting for ${what}; will reconnect`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(fedError('TIMEOUT', `no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.signal.addEventListener('abort', onClose, { once: true });
    });
  }

  close(code = 1000, reason = 'client closing'): void {
    try {
      this.socket.close(code, reason);
    } catch {
      // Closing an already-failed socket may throw in some implementations; it is closed either way.
    }
    // Do not wait for the peer's close frame to release waiters: this side is done with the connection.
    this.#markClosed({ code, reason });
  }

  #assertOpen(): void {
    if (!this.isOpen) throw fedError('UNAVAILABLE', `connection to ${this.url} is closed; will reconnect`);
  }

  #markClosed(info: CloseInfo): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#ctl.abort(fedError('UNAVAILABLE', `connection to ${this.url} closed (code ${info.code}${info.reason ? `: ${info.reason}` : ''})`));
    this.#closedResolve(info);
  }

  #onData(data: unknown): void {
    try {
      if (typeof data !== 'string') {
        this.handlers.onBadInput(fedError('BAD_MESSAGE', 'the combiner sent binary data, which a client never expects; ignored'));
        return;
      }
      const r = parseMessage(data);
      if (!r.ok) {
        this.handlers.onBadInput(r.error, refusedTaskId(data));
        return;
      }
      for (const w of [...this.#waiters]) {
        if (w.match(r.value)) {
          w.resolve(r.value);
          return;
        }
      }
      this.handlers.onMessage(r.value);
    } catch (e) {
      // Never throw out of a socket event handler.
      try {
        this.handlers.onBadInput(fedError('INTERNAL', `handling a message failed: ${(e as Error)?.message ?? String(e)}`, undefined, e));
      } catch {
        /* nothing left to report to */
      }
    }
  }
}

/** The `taskId` of an invalid task message (a string of a sane length), to name it when refusing it. */
function refusedTaskId(text: string): string | undefined {
  try {
    const v = JSON.parse(text) as { kind?: unknown; taskId?: unknown } | null;
    if ((v?.kind === 'task.train' || v?.kind === 'task.validate') && typeof v.taskId === 'string' && v.taskId.length <= 256) return v.taskId;
  } catch {
    // Not JSON: nothing to name.
  }
  return undefined;
}
