/**
 * An external combiner (`fedweb combiner`): its own port for client WebSockets, a WebSocket to the
 * controller's `/ws/combiner` (redialled with backoff when it drops), and HTTP downloads of the global model
 * from the controller. Same {@link Combiner} class as the embedded one.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { WebSocket } from 'ws';
import { Backoff, fedError, requestBytes, toFedError, type BlobRef } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createAuthenticator, issueToken } from '../auth.js';
import { installErrorHandling, requestToken } from '../http/plumbing.js';
import type { Logger, LogLevel } from '../log.js';
import { keepAlive } from '../server.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { guard, wsPeer } from '../transport.js';
import { Combiner, type CombinerOptions } from './combiner.js';

export interface CombinerProcessOptions {
  /** The controller's HTTP base, e.g. `http://10.0.0.1:8080`. */
  controllerUrl: string;
  /** The combiner id (`--name`). */
  name: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** The WebSocket URL clients should dial, when it differs from `ws://<host>:<port>/ws/client` (NAT, proxy). */
  publicUrl?: string;
  /** JWT secret: verifies client tokens and, without `token`, signs this combiner's operator token. */
  secret?: string;
  /** An operator/admin token for the controller (instead of deriving one from `secret`). */
  token?: string;
  heartbeatMs?: number;
  /** Ping interval of the link to the controller; a ping unanswered by the next one drops and redials it. Default 10 000. */
  linkKeepaliveMs?: number;
  logLevel?: LogLevel;
  logger?: boolean;
  limits?: Pick<CombinerOptions, 'maxUploadBytes' | 'maxInflightBytes' | 'maxClients' | 'foldConcurrency' | 'helloTimeoutMs' | 'reconnectGraceMs' | 'maxUploadAttempts'>;
}

export interface CombinerServer {
  id: string;
  /** The WebSocket URL clients dial. */
  url: string;
  port: number;
  combiner: Combiner;
  app: FastifyInstance;
  /** True while the link to the controller is up. */
  readonly connected: boolean;
  /** Resolves once the controller link is up (rejects with TIMEOUT). */
  waitConnected(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const toWs = (httpUrl: string): string => httpUrl.replace(/^http/i, 'ws').replace(/\/+$/, '');

/**
 * Starts an external combiner process's core.
 * @example
 * ```ts
 * const c2 = await startCombiner({ controllerUrl: 'http://127.0.0.1:8080', name: 'c2', port: 0 });
 * await c2.waitConnected();
 * ```
 */
export async function startCombiner(opts: CombinerProcessOptions): Promise<CombinerServer> {
  const app = Fastify({ logger: opts.logger === false ? false : { level: opts.logLevel ?? 'info' }, logController: new LogController({ disableRequestLogging: true }), forceCloseConnections: true });
  const log: Logger = app.log.child({ combinerId: opts.name });
  const auth = createAuthenticator(opts.secret);
  if (!auth.enabled) log.warn({}, '!!! AUTH IS OFF on this combiner: any client id is accepted. Dev mode only. !!!');
  const token = opts.token ?? (opts.secret ? await issueToken({ secret: opts.secret, role: 'operator', sub: `combiner:${opts.name}` }) : undefined);
  const base = opts.controllerUrl.replace(/\/+$/, '');

  const combiner = new Combiner({
    ...opts.limits,
    combinerId: opts.name,
    clientUrl: 'pending',
    auth,
    compressor: nodeZlibCompressor,
    heartbeatMs: opts.heartbeatMs ?? 5000,
    log,
    async fetchBlob(ref: BlobRef, signal: AbortSignal) {
      // Bounded by the size the controller announced: a longer body is refused before it is all in memory.
      const bytes = await requestBytes({ url: new URL(ref.url, `${base}/`).toString(), token, signal, maxBytes: ref.bytes, what: `GET ${ref.url}` });
      if (sha256Node(bytes) !== ref.sha256) throw fedError('HASH_MISMATCH', `${ref.url} does not match its SHA-256`);
      return bytes;
    },
  });

  installErrorHandling(app);
  await app.register(websocket, { options: { maxPayload: 16 * 1024 * 1024 } });
  app.get('/ws/client', { websocket: true }, (socket: WebSocket, req: FastifyRequest) => {
    guard(log, 'attach client', () => combiner.attachClient(socket, requestToken(req)));
  });
  app.get('/healthz', async () => ({ kind: 'health', ...combiner.health() }));
  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  const url = opts.publicUrl ?? `ws://${host.includes(':') ? `[${host}]` : host}:${port}/ws/client`;
  combiner.clientUrl = url;

  // The controller link, redialled with capped exponential backoff.
  const keepaliveMs = opts.linkKeepaliveMs ?? 10_000;
  let ws: WebSocket | null = null;
  let connected = false;
  let closing = false;
  const redial = new Backoff({ baseMs: 400, maxMs: 5000 });
  let retryTimer: NodeJS.Timeout | null = null;
  const waiters = new Set<() => void>();
  const dial = (): void => {
    if (closing) return;
    // A dial into a cut network must fail in bounded time (a SYN into the void is retried for minutes).
    const socket = new WebSocket(`${toWs(base)}/ws/combiner`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, maxPayload: 16 * 1024 * 1024, handshakeTimeout: 2 * keepaliveMs });
    ws = socket;
    let opened = false;
    const peer = wsPeer(socket, log, {
      message: (msg) => combiner.handleControllerMessage(msg),
      binary: () => log.warn({}, 'unexpected binary data from the controller'),
      close: (code, reason) => {
        if (opened) {
          connected = false;
          log.warn({ code, reason }, 'controller link closed; redialling');
          combiner.handleControllerClosed();
        }
        scheduleRedial();
      },
    });
    socket.on('open', () => {
      opened = true;
      connected = true;
      redial.reset();
      keepAlive(socket, keepaliveMs);
      log.info({ controller: base, url }, 'connected to the controller');
      combiner.attachController(peer, token);
      for (const w of waiters) w();
      waiters.clear();
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'controller link error'));
  };
  const scheduleRedial = (): void => {
    if (closing || retryTimer) return;
    const delay = redial.next();
    retryTimer = setTimeout(() => {
      retryTimer = null;
      guard(log, 'redial', dial);
    }, delay);
    retryTimer.unref();
  };
  dial();

  return {
    id: opts.name,
    url,
    port,
    combiner,
    app,
    get connected() {
      return connected;
    },
    waitConnected(timeoutMs = 10_000) {
      if (connected) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(fedError('TIMEOUT', `combiner ${opts.name} did not reach the controller within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(done);
      });
    },
    async close() {
      closing = true;
      if (retryTimer) clearTimeout(retryTimer);
      await combiner.close().catch((e: unknown) => log.error({ err: toFedError(e).message }, 'combiner close failed'));
      ws?.close(1001, 'combiner shutting down');
      await app.close();
    },
  };
}
