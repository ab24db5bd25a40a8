/**
 * A message peer: JSON control messages (validated with the codec on both ends) plus binary chunks, over a
 * `ws` WebSocket or an in-process pair. The embedded combiner talks to the controller through an in-process
 * pair that still encodes and parses every message, so the embedded and external combiners run the same code
 * on the same bytes; only the pipe differs.
 *
 * Handlers never throw into the socket: every callback is wrapped, and a failure is logged.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import { encodeMessage, parseMessage, splitIntoChunks, toFedError, type FedError, type Message, type MessageSchema } from '@fedweb/codec';
import type { z } from 'zod';
import type { Logger } from './log.js';

export type OutMessage = z.input<typeof MessageSchema>;

export interface PeerHandlers {
  message(msg: Message): void;
  binary(bytes: Uint8Array): void;
  /** A text message that failed to parse (the peer already answered it with an `error` message). */
  invalid?(error: FedError): void;
  close(code: number, reason: string): void;
  /** A whole frame handed over in memory ({@link Peer.handOver}), announced before with `uploadId`. */
  frame?(uploadId: string, frame: Uint8Array): void;
}

export interface Peer {
  readonly open: boolean;
  /** Validates and sends a control message; returns false when the peer is closed or the message invalid. */
  send(msg: OutMessage): boolean;
  /** Sends one binary message; resolves when it was handed to the socket (backpressure), rejects when closed. */
  sendBinary(bytes: Uint8Array): Promise<void>;
  /** Bytes queued and not yet written. */
  buffered(): number;
  /**
   * Stops reading from the peer (inbound backpressure) until the returned release is called. Holds are counted:
   * reading resumes once every holder has released (each release counts once), so two holders (the engine's
   * bounded queue and an operator, say) cannot undo each other's pause.
   */
  hold(): () => void;
  close(code?: number, reason?: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
  /**
   * Memory links only: hands a whole frame to the other side as it is (no chunks, no copy, no hash: nothing
   * crosses a process boundary); the sender must not touch it afterwards. Ordered after earlier `send`s; waits,
   * like `sendBinary`, while the other side is paused (backpressure).
   */
  handOver?(uploadId: string, frame: Uint8Array): Promise<void>;
}

/**
 * ws data (Buffer | ArrayBuffer | Buffer[]) as one Uint8Array, without copying when possible.
 * @example
 * ```ts
 * ws.on('message', (data) => handle(rawToBytes(data)));
 * ```
 */
export function rawToBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) {
    const b = Buffer.concat(data);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Runs a handler, logging instead of throwing (event handlers must never throw).
 * @example
 * ```ts
 * ws.on('close', () => guard(log, 'close handler', () => onClose()));
 * ```
 */
export function guard(log: Logger, what: string, fn: () => unknown): void {
  try {
    const r = fn();
    if (r && typeof (r as Promise<unknown>).then === 'function') {
      (r as Promise<unknown>).catch((e: unknown) => log.error({ err: toFedError(e).message }, `${what} failed`));
    }
  } catch (e) {
    log.error({ err: toFedError(e).message }, `${what} failed`);
  }
}

/**
 * Wraps handlers so that a peer that sends no `kind` message within `ms` is closed (4408): a socket that never
 * introduces itself does not hold a connection.
 * @example
 * ```ts
 * let peer: Peer;
 * peer = wsPeer(socket, log, helloDeadline(handlers, 'combiner.hello', 10_000, () => peer));
 * ```
 */
export function helloDeadline(handlers: PeerHandlers, kind: Message['kind'], ms: number, getPeer: () => Peer): PeerHandlers {
  const timer = setTimeout(() => {
    const peer = getPeer();
    peer.send({ v: 2, kind: 'error', code: 'TIMEOUT', message: `no ${kind} within ${ms} ms` });
    peer.close(4408, `${kind} timeout`);
  }, ms);
  timer.unref();
  return {
    ...handlers,
    message(msg) {
      if (msg.kind === kind) clearTimeout(timer);
      handlers.message(msg);
    },
    close(code, reason) {
      clearTimeout(timer);
      handlers.close(code, reason);
    },
  };
}

/**
 * Wraps a `ws` socket as a {@link Peer}. Text messages are parsed with `parseMessage`; an invalid one is
 * answered with an `error` message and reported to `handlers.invalid`.
 * @example
 * ```ts
 * const peer = wsPeer(socket, log, { message: (m) => ..., binary: (b) => ..., close: () => ... });
 * peer.send({ v: 2, kind: 'welcome', clientId, combinerId, heartbeatMs: 5000 });
 * ```
 */
export function wsPeer(ws: WebSocket, log: Logger, handlers: PeerHandlers): Peer {
  const OPEN = 1;
  const reading = { holds: 0 };
  const peer: Peer = {
    get open() {
      return ws.readyState === OPEN;
    },
    send(msg) {
      if (ws.readyState !== OPEN) return false;
      let text: string;
      try {
        text = encodeMessage(msg);
      } catch (e) {
        log.error({ err: toFedError(e).message, kind: (msg as { kind?: string }).kind }, 'refusing to send an invalid message');
        return false;
      }
      ws.send(text, (err) => {
        if (err) log.debug({ err: err.message }, 'send failed');
      });
      return true;
    },
    sendBinary(bytes) {
      return new Promise<void>((resolve, reject) => {
        if (ws.readyState !== OPEN) return reject(toFedError(new Error('socket closed'), 'UNAVAILABLE'));
        ws.send(bytes, { binary: true }, (err) => (err ? reject(toFedError(err, 'UNAVAILABLE')) : resolve()));
      });
    },
    // Methods, not arrow-function properties: tsx (keepNames) gives each such closure its own `name` property,
    // a few hundred bytes per idle socket.
    buffered() {
      return ws.bufferedAmount;
    },
    hold() {
      return holdCounter(() => ws.pause(), () => ws.resume(), reading);
    },
    close(code = 1000, reason = '') {
      try {
        ws.close(code, reason.slice(0, 120));
      } catch {
        ws.terminate();
      }
    },
    terminate() {
      ws.terminate();
    },
  };
  ws.on('message', (data, isBinary) => {
    guard(log, 'message handler', () => {
      if (isBinary) return handlers.binary(rawToBytes(data));
      const text = rawToBytes(data);
      const r = parseMessage(Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8'));
      if (!r.ok) {
        log.warn({ code: r.error.code, err: r.error.message }, 'invalid message');
        peer.send({ v: 2, kind: 'error', code: r.error.code, message: r.error.message.slice(0, 2000) });
        return handlers.invalid?.(r.error);
      }
      return handlers.message(r.value);
    });
  });
  ws.on('close', (code, reason) => guard(log, 'close handler', () => handlers.close(code, reason.toString('utf8'))));
  ws.on('error', (err) => log.debug({ err: err.message }, 'socket error'));
  return peer;
}

/**
 * Lets go of what an upgrade through Fastify (`@fastify/websocket`) leaves attached to a long-lived WebSocket:
 * the upgrade's `ServerResponse`, which stays the TCP socket's current message and holds the request (headers,
 * Fastify's request, reply and per-request logger), and the plugin's `error` listener, whose closure holds them
 * too. About 3 KB per socket, for as long as the socket is open. A socket error still terminates the socket, as
 * the plugin's listener did (logged here instead of on the request's logger).
 * @example
 * ```ts
 * app.get('/ws/client', { websocket: true }, (socket, req) => {
 *   releaseUpgrade(socket, req.socket, log);
 * });
 * ```
 */
export function releaseUpgrade(ws: WebSocket, raw: Socket, log: Logger): void {
  const res = (raw as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (res && typeof res.detachSocket === 'function') res.detachSocket(raw);
  for (const l of ws.listeners('error')) ws.off('error', l as (err: Error) => void);
  ws.on('error', (err) => {
    log.error({ err: err.message }, 'client socket error');
    ws.terminate();
  });
}

/** Counted holds of one reader: `stop` on the first, `go` once the last is released; each release counts once. */
function holdCounter(stop: () => void, go: () => void, counter: { holds: number }): () => void {
  if (counter.holds++ === 0) stop();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--counter.holds === 0) go();
  };
}

/**
 * An in-process pair of peers (the embedded combiner's link to the controller). Messages are encoded and
 * parsed like on a socket and delivered asynchronously (never re-entrantly). A side that pauses holds back the
 * other side's binary sends (their promises settle on resume), as a paused socket would.
 * @example
 * ```ts
 * const link = createMemoryLink(log);
 * const controllerSide = link.connectA(controllerHandlers);
 * const combinerSide = link.connectB(combinerHandlers);
 * ```
 */
export function createMemoryLink(log: Logger): { connectA(h: PeerHandlers): Peer; connectB(h: PeerHandlers): Peer } {
  let handlersA: PeerHandlers | null = null;
  let handlersB: PeerHandlers | null = null;
  let open = true;
  /** Per side: its holds (paused while any), and the binary sends of the other side waiting for it to resume. */
  const sideA = { holds: 0, waiting: [] as Array<(ok: boolean) => void> };
  const sideB = { holds: 0, waiting: [] as Array<(ok: boolean) => void> };
  const deliver = (to: () => PeerHandlers | null, fn: (h: PeerHandlers) => void): void => {
    setImmediate(() => {
      const h = to();
      if (h && open) guard(log, 'memory link handler', () => fn(h));
    });
  };
  const closeBoth = (code: number, reason: string): void => {
    if (!open) return;
    open = false;
    for (const w of [...sideA.waiting.splice(0), ...sideB.waiting.splice(0)]) w(false);
    const a = handlersA;
    const b = handlersB;
    setImmediate(() => {
      if (a) guard(log, 'close handler', () => a.close(code, reason));
      if (b) guard(log, 'close handler', () => b.close(code, reason));
    });
  };
  /** Runs `hand` now, or once the other side resumes reading (rejects when the link closes first). */
  const whenReading = (peerSide: typeof sideA, hand: () => void): Promise<void> => {
    if (!open) return Promise.reject(toFedError(new Error('link closed'), 'UNAVAILABLE'));
    if (peerSide.holds === 0) return Promise.resolve(hand());
    return new Promise<void>((resolve, reject) => {
      peerSide.waiting.push((ok) => {
        if (!ok) return reject(toFedError(new Error('link closed'), 'UNAVAILABLE'));
        hand();
        resolve();
      });
    });
  };
  const make = (other: () => PeerHandlers | null, self: typeof sideA, peerSide: typeof sideA): Peer => ({
    get open() {
      return open;
    },
    send(msg) {
      if (!open) return false;
      let text: string;
      try {
        text = encodeMessage(msg);
      } catch (e) {
        log.error({ err: toFedError(e).message }, 'refusing to send an invalid message');
        return false;
      }
      deliver(other, (h) => {
        const r = parseMessage(text);
        if (r.ok) h.message(r.value);
        else h.invalid?.(r.error);
      });
      return true;
    },
    sendBinary(bytes) {
      const copy = open ? bytes.slice() : bytes;
      return whenReading(peerSide, () => deliver(other, (h) => h.binary(copy)));
    },
    buffered: () => 0,
    hold: () =>
      holdCounter(
        () => undefined,
        () => {
          for (const w of self.waiting.splice(0)) w(true);
        },
        self,
      ),
    close: (code = 1000, reason = '') => closeBoth(code, reason),
    terminate: () => closeBoth(1006, 'terminated'),
    handOver(uploadId, frame) {
      return whenReading(peerSide, () => deliver(other, (h) => (h.frame ? h.frame(uploadId, frame) : log.warn({ uploadId }, 'a frame handed over to a peer that takes none'))));
    },
  });
  return {
    connectA(h) {
      handlersA = h;
      return make(() => handlersB, sideA, sideB);
    },
    connectB(h) {
      handlersB = h;
      return make(() => handlersA, sideB, sideA);
    },
  };
}

/**
 * Sends a frame as binary chunks (codec `splitIntoChunks`), one at a time so a slow peer applies backpressure.
 * @example
 * ```ts
 * peer.send({ v: 2, kind: 'round.partial', ..., uploadId, chunkCount: chunks.length });
 * await sendChunks(peer, chunks);
 * ```
 */
export async function sendChunks(peer: Peer, chunks: Uint8Array[]): Promise<void> {
  for (const c of chunks) await peer.sendBinary(c);
}

/**
 * Splits a frame for {@link sendChunks}.
 * @example
 * ```ts
 * await sendChunks(peer, chunkFrame(frame, uploadId));
 * ```
 */
export function chunkFrame(frame: Uint8Array, uploadId: string, chunkSize?: number): Uint8Array[] {
  return splitIntoChunks(frame, chunkSize === undefined ? { uploadId } : { uploadId, chunkSize });
}

/**
 * Pings a socket every `ms`; terminates it when the previous ping got no pong (dead peer, half-open TCP).
 * @example
 * ```ts
 * const stop = keepAlive(socket, 10_000);
 * ```
 */
export function keepAlive(ws: WebSocket, ms: number): () => void {
  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const timer = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    try {
      ws.ping();
    } catch {
      ws.terminate();
    }
  }, ms);
  timer.unref();
  const stop = (): void => clearInterval(timer);
  ws.on('close', stop);
  return stop;
}
