/**
 * Connection limits of an HTTP server (the controller's and an external combiner's): timeouts for idle and slow
 * connections (Node's own `headersTimeout`, `requestTimeout`, `keepAliveTimeout` and socket timeout, set through
 * Fastify's options) and caps on open connections, in total and per remote address. The total cap is derived
 * from the process's file-descriptor limit, so a flood of connections is refused with an HTTP 503 while the
 * server still has descriptors to answer with, instead of running out of them and going silent.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';

export interface ConnectionLimits {
  /** Open connections at once (HTTP and WebSocket). Default: 3/4 of the file-descriptor limit minus 32 (at least 16). */
  maxConnections: number;
  /** Open connections at once from one remote address. Default 256. */
  maxConnectionsPerAddress: number;
  /** Remote addresses the per-address cap does not apply to (a local reverse proxy). Default: loopback (127.0.0.1, ::1). */
  exemptAddresses: string[];
  /** From the connection (or the end of the previous request) to the end of a request's headers. Default 10 s. */
  headersTimeoutMs: number;
  /** To receive a whole request, body included. Default 120 s. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection between two requests is closed after this. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** An HTTP connection with no traffic either way is closed after this (WebSockets use heartbeats instead). Default 60 s. */
  idleTimeoutMs: number;
}

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

/**
 * The soft limit on open file descriptors of this process (`/proc/self/limits`; 1024 where it cannot be read).
 * @example
 * ```ts
 * fileDescriptorLimit(); // 1048576, or 256 under `prlimit --nofile=256:256`
 * ```
 */
export function fileDescriptorLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m?.[1] === 'unlimited') return Number.MAX_SAFE_INTEGER;
    if (m?.[1]) return Number(m[1]);
  } catch {
    // not Linux
  }
  return 1024;
}

/**
 * The limits with every field defaulted (the total cap from the file-descriptor limit; headers within the request timeout).
 * @example
 * ```ts
 * const limits = connectionLimits({ maxConnectionsPerAddress: 64 });
 * ```
 */
export function connectionLimits(input: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const fdCap = Math.max(16, Math.floor(fileDescriptorLimit() * 0.75) - 32);
  const requestTimeoutMs = input.requestTimeoutMs ?? 120_000;
  return {
    maxConnections: input.maxConnections ?? fdCap,
    maxConnectionsPerAddress: input.maxConnectionsPerAddress ?? 256,
    exemptAddresses: input.exemptAddresses ?? LOOPBACK,
    headersTimeoutMs: Math.min(input.headersTimeoutMs ?? 10_000, requestTimeoutMs),
    requestTimeoutMs,
    keepAliveTimeoutMs: input.keepAliveTimeoutMs ?? 5_000,
    idleTimeoutMs: input.idleTimeoutMs ?? 60_000,
  };
}

/**
 * Fastify's constructor options for the timeouts (`http` goes to Node's `http.createServer`; Node checks
 * headers and request timeouts every `connectionsCheckingInterval`, here a quarter of the headers timeout).
 * @example
 * ```ts
 * const app = Fastify({ ...fastifyTimeouts(limits), logger: false });
 * ```
 */
export function fastifyTimeouts(limits: ConnectionLimits) {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(5000, Math.floor(limits.headersTimeoutMs / 4))) },
  };
}

/** The raw response a refused connection gets (its request is never parsed). */
function refusal(message: string): string {
  const body = JSON.stringify({ kind: 'error', code: 'UNAVAILABLE', message });
  return `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Counts the server's open connections and refuses those over the caps with an HTTP 503 (`UNAVAILABLE`) before
 * Node's HTTP parser sees them. Call before `listen`.
 * @example
 * ```ts
 * const conns = guardConnections(app.server, limits, log);
 * conns.open(); // connections open now
 * ```
 */
export function guardConnections(server: Server, limits: ConnectionLimits, log: Logger): { open(): number } {
  let open = 0;
  const perAddress = new Map<string, number>();
  const exempt = new Set(limits.exemptAddresses);
  let lastWarn = 0;
  // Refused sockets that wait for their peer to read the 503 (a lingering close). Each holds a descriptor, so
  // only a few may linger; past that a refused socket is closed as soon as its 503 is written.
  let lingering = 0;
  const maxLingering = Math.max(4, Math.min(256, Math.floor(limits.maxConnections / 8)));
  // Node's HTTP server handles 'connection' with its own listener: it only sees the connections admitted here.
  const inner = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const fromAddress = perAddress.get(address) ?? 0;
    let why: string | null = null;
    if (open >= limits.maxConnections) why = `the server has too many open connections (limit ${limits.maxConnections})`;
    else if (fromAddress >= limits.maxConnectionsPerAddress && !exempt.has(address)) {
      why = `too many open connections from this address (limit ${limits.maxConnectionsPerAddress})`;
    }
    if (why) {
      if (Date.now() - lastWarn > 5000) {
        lastWarn = Date.now();
        log.warn({ open, address }, `connection refused: ${why}`);
      }
      socket.on('error', () => undefined);
      if (lingering >= maxLingering) {
        socket.write(refusal(why));
        socket.destroy();
        return;
      }
      lingering += 1;
      socket.end(refusal(why));
      // Read and drop what the peer sends (closing with unread data would reset the connection and lose the 503).
      socket.on('end', () => socket.destroy());
      socket.resume();
      const timer = setTimeout(() => socket.destroy(), 1000);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        lingering -= 1;
      });
      return;
    }
    open += 1;
    perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      open -= 1;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n > 0) perAddress.set(address, n);
      else perAddress.delete(address);
    });
    for (const l of inner) l.call(server, socket);
  });
  return { open: () => open };
}
