/**
 * An external combiner (`fedweb combiner`): its own port for client WebSockets, a WebSocket to the
 * controller's `/ws/combiner` (redialled with backoff when it drops), and HTTP downloads of the global model
 * from the controller. Same {@link Combiner} class as the embedded one.
 */
import { decodeJwt } from 'jose';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { WebSocket } from 'ws';
import { Backoff, fedError, requestBytes, sleep, toFedError, type BlobRef } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createAuthenticator, issueToken, type Authenticator } from '../auth.js';
import { deriveSigningKey, fetchVerifyKey, JWKS_PATH, loadVerifyKey, verifyKeyOf, type VerifyKey } from '../auth-keys.js';
import { connectionLimits, fastifyTimeouts, guardConnections, type ConnectionLimits } from '../http/connections.js';
import { installErrorHandling, requestToken } from '../http/plumbing.js';
import { newRequestId, serverLoggerOptions, type Logger, type LogLevel } from '../log.js';
import { FedMetrics } from '../metrics/metrics.js';
import { listenMetrics, registerMetricsRoute, type MetricsListen } from '../metrics/route.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { guard, keepAlive, wsPeer } from '../transport.js';
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
  /**
   * The controller's auth secret: verifies client tokens and, without `token`, signs this combiner's own
   * `combiner` token. A combiner holding it can mint any token: prefer `token` (and the controller's public key).
   */
  secret?: string;
  /** A `combiner` token (sub = `name`) for the controller, e.g. from `fedweb token --role combiner --sub <name>`. */
  token?: string;
  /**
   * The controller's public key to verify client tokens with: a JWKS file or an Ed25519 public key PEM. Without it
   * (and without `secret`) the key is fetched from the controller's `/.well-known/jwks.json` at start.
   */
  publicKeyFile?: string;
  /** How long to keep trying to fetch the controller's public key before refusing to start. Default 30 000. */
  keyFetchTimeoutMs?: number;
  /** Accept clients without verifying their tokens (dev only; the combiner warns loudly). Default false. */
  insecureNoClientAuth?: boolean;
  /** Accept client tokens without `exp`. Default false. */
  allowTokensWithoutExp?: boolean;
  heartbeatMs?: number;
  /** Ping interval of the link to the controller; a ping unanswered by the next one drops and redials it. Default 10 000. */
  linkKeepaliveMs?: number;
  logLevel?: LogLevel;
  logger?: boolean;
  limits?: Pick<CombinerOptions, 'maxUploadBytes' | 'maxInflightBytes' | 'maxClients' | 'foldConcurrency' | 'foldWorkers' | 'helloTimeoutMs' | 'maxPreAuthBytes' | 'reconnectGraceMs' | 'maxUploadAttempts'>;
  /** Connection caps and HTTP timeouts of the client port (see http/connections.ts; every field has a default). */
  connections?: Partial<ConnectionLimits>;
  /** `--metrics-port`: serve `/metrics` without a token on a listener of its own (else on the client port, with a token that may read when auth is on). */
  metrics?: MetricsListen;
}

export interface CombinerServer {
  id: string;
  /** The WebSocket URL clients dial. */
  url: string;
  port: number;
  combiner: Combiner;
  app: FastifyInstance;
  /** This combiner's Prometheus metrics, and the port of its separate metrics listener if one was asked for. */
  metrics: FedMetrics;
  metricsPort: number | null;
  /** True while the link to the controller is up. */
  readonly connected: boolean;
  /** Resolves once the controller link is up (rejects with TIMEOUT). */
  waitConnected(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const toWs = (httpUrl: string): string => httpUrl.replace(/^http/i, 'ws').replace(/\/+$/, '');

/** Refuses, at start, a token that the controller would refuse for this combiner (wrong role, another id). */
function checkOwnToken(token: string, name: string): void {
  let claims: { role?: unknown; sub?: unknown };
  try {
    claims = decodeJwt(token);
  } catch (e) {
    throw fedError('BAD_CONFIG', `--token is not a JWT: ${(e as Error).message}`);
  }
  if (claims.role !== 'combiner' && claims.role !== 'admin') {
    throw fedError('BAD_CONFIG', `--token has role '${String(claims.role)}'; a combiner needs a 'combiner' token (fedweb token --role combiner --sub ${name})`);
  }
  if (claims.role === 'combiner' && claims.sub !== name) {
    throw fedError('BAD_CONFIG', `--token is for combiner '${String(claims.sub)}', this combiner is '${name}'`);
  }
}

/** Fetches the controller's JWKS, retrying while it is unreachable; `null` when the controller's auth is off. */
async function fetchKeyWithRetry(base: string, timeoutMs: number): Promise<VerifyKey | null> {
  const deadline = Date.now() + timeoutMs;
  const backoff = new Backoff({ baseMs: 250, maxMs: 3000 });
  for (;;) {
    try {
      return await fetchVerifyKey(base, Math.max(1000, Math.min(10_000, deadline - Date.now())));
    } catch (e) {
      const err = toFedError(e);
      const delay = backoff.next();
      if (!err.retryable || Date.now() + delay >= deadline) {
        throw fedError('UNAVAILABLE', `cannot get the controller's public key from ${base}${JWKS_PATH} (${err.message}); client tokens cannot be verified, so the combiner does not start. Pass --public-key <file>, or --insecure-no-client-auth for a dev setup`);
      }
      await sleep(delay);
    }
  }
}

/**
 * How this combiner checks its clients: with the key derived from the secret, the `publicKeyFile`, or the
 * controller's JWKS. Never off unless the controller's auth is off too (and this combiner has no token), or
 * `insecureNoClientAuth` says so.
 */
async function clientAuth(opts: CombinerProcessOptions, base: string, derived: VerifyKey | undefined, hasToken: boolean, log: Logger): Promise<Authenticator> {
  const verifyOpts = { allowTokensWithoutExp: opts.allowTokensWithoutExp ?? false };
  if (opts.insecureNoClientAuth) {
    log.warn({}, '!!! CLIENT AUTH IS OFF on this combiner (--insecure-no-client-auth): anyone can join as any client id and send updates. Dev mode only. !!!');
    return createAuthenticator(undefined);
  }
  if (derived) return createAuthenticator({ verifyKey: derived, ...verifyOpts });
  if (opts.publicKeyFile) return createAuthenticator({ verifyKey: await loadVerifyKey(opts.publicKeyFile), ...verifyOpts });
  const fetched = await fetchKeyWithRetry(base, opts.keyFetchTimeoutMs ?? 30_000);
  if (fetched) return createAuthenticator({ verifyKey: fetched, ...verifyOpts });
  if (hasToken) {
    throw fedError('BAD_CONFIG', `the controller at ${base} serves no public key (its auth is off?) but this combiner has a token; refusing to accept unauthenticated clients. Pass --public-key <file>, or --insecure-no-client-auth for a dev setup`);
  }
  log.warn({}, '!!! AUTH IS OFF on this combiner (the controller runs without auth): any client id is accepted. Dev mode only. !!!');
  return createAuthenticator(undefined);
}

/**
 * Starts an external combiner process's core.
 * @example
 * ```ts
 * const c2 = await startCombiner({ controllerUrl: 'http://127.0.0.1:8080', name: 'c2', port: 0 });
 * await c2.waitConnected();
 * ```
 */
export async function startCombiner(opts: CombinerProcessOptions): Promise<CombinerServer> {
  const connections = connectionLimits(opts.connections);
  const app = Fastify({
    ...fastifyTimeouts(connections),
    logger: opts.logger === false ? false : serverLoggerOptions(opts.logLevel ?? 'info'),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    genReqId: newRequestId,
  });
  const log: Logger = app.log.child({ combinerId: opts.name });
  guardConnections(app.server, connections, log);
  const base = opts.controllerUrl.replace(/\/+$/, '');
  const signingKey = opts.secret ? await deriveSigningKey(opts.secret) : undefined;
  const token = opts.token ?? (signingKey ? await issueToken({ key: signingKey, role: 'combiner', sub: opts.name }) : undefined);
  if (opts.token) checkOwnToken(opts.token, opts.name);
  const auth = await clientAuth(opts, base, signingKey ? await verifyKeyOf(signingKey) : undefined, token !== undefined, log).catch(async (e: unknown) => {
    await app.close();
    throw e;
  });

  const metrics: FedMetrics = new FedMetrics({ clients: (): Array<[string, number]> => [[opts.name, combiner.clientCount]] });
  const combiner: Combiner = new Combiner({
    ...opts.limits,
    combinerId: opts.name,
    clientUrl: 'pending',
    auth,
    compressor: nodeZlibCompressor,
    heartbeatMs: opts.heartbeatMs ?? 5000,
    observer: metrics.observer(),
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
    guard(log, 'attach client', () => combiner.attachClient(socket, requestToken(req), req.socket, req.id));
  });
  registerMetricsRoute(app, metrics, auth);
  app.get('/healthz', async () => ({ kind: 'health', ...combiner.health() }));
  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  const url = opts.publicUrl ?? `ws://${host.includes(':') ? `[${host}]` : host}:${port}/ws/client`;
  combiner.clientUrl = url;
  const metricsListener = opts.metrics ? await listenMetrics(metrics, opts.metrics, log) : null;

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
    metrics,
    metricsPort: metricsListener?.port ?? null,
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
      await metricsListener?.close();
      await app.close();
    },
  };
}
