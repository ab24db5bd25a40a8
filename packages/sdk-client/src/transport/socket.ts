/**
 * The WebSocket surface FedClient needs, met by the browser's `WebSocket` and by the `ws` package in Node
 * (both implement `addEventListener`, `binaryType = 'arraybuffer'` and `bufferedAmount`).
 */

/**
 * Minimal WebSocket instance.
 * @example
 * ```ts
 * const socket: SocketLike = new WebSocket(url); // browsers, or `new (await import('ws')).WebSocket(url)`
 * ```
 */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: (ev: unknown) => void): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (ev: { code: number; reason: string; wasClean?: boolean }) => void): void;
  addEventListener(type: 'error', listener: (ev: unknown) => void): void;
}

/**
 * A WebSocket constructor: `globalThis.WebSocket` in browsers, `import { WebSocket } from 'ws'` in Node.
 * @example
 * ```ts
 * const ctor: SocketConstructor = globalThis.WebSocket;
 * ```
 */
export type SocketConstructor = new (url: string) => SocketLike;

/**
 * WebSocket readyState values (same in browsers and `ws`).
 * @example
 * ```ts
 * if (socket.readyState === SOCKET_OPEN) socket.send(text);
 * ```
 */
export const SOCKET_OPEN = 1;
/**
 * WebSocket readyState CLOSING (same in browsers and `ws`).
 * @example
 * ```ts
 * if (socket.readyState >= SOCKET_CLOSING) reconnect();
 * ```
 */
export const SOCKET_CLOSING = 2;
