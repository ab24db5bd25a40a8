/**
 * `startServer`: controller + discovery + reducer + one embedded combiner in one Node process (the embedded
 * default of `fedweb server`), over Fastify with `@fastify/websocket`.
 *
 *  - `/api/*`        REST (see http/api.ts), bearer JWT when a secret is set
 *  - `/ws/client`    the embedded combiner's client endpoint
 *  - `/ws/combiner`  where external combiners dial in
 *  - `/dashboard`    operator dashboard
 *  - `/`             an optional static site (the demo), with COOP/COEP on every response; without one, the
 *                    server's landing page (http/landing.ts, also at `/about`)
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { fedError, toFedError } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { authorize, createAuthenticator } from './auth.js';
import { deriveSigningKey, loadSigningKey, verifyKeyOf, type SigningKey } from './auth-keys.js';
import { Combiner, type CombinerOptions } from './combiner/combiner.js';
import { Controller } from './controller/controller.js';
import type { DiscoveryPolicy } from './discovery/policy.js';
import { CombinerRegistry } from './discovery/registry.js';
import { registerApi } from './http/api.js';
import { auditPackage, LOCAL_ACTOR } from './controller/audit.js';
import { connectionLimits, fastifyTimeouts, guardConnections, type ConnectionLimits } from './http/connections.js';
import { installOpenApi } from './http/openapi/install.js';
import { HEALTHZ_DOC, WS_CLIENT_DOC, WS_COMBINER_DOC } from './http/openapi/server-routes.js';
import { installAuthHook, installErrorHandling, requestToken } from './http/plumbing.js';
import { serverLoggerOptions, type Logger, type LogLevel } from './log.js';
import { AUTH_OFF_WARNING, checkExposure } from './http/exposure.js';
import { installJsonBodyParser } from './http/json-body.js';
import { checkStaticRoot, registerStaticSite } from './http/static-site.js';
import { collectClientGarbage } from './store/client-gc.js';
import { registerLanding } from './http/landing.js';
import { serveStandby } from './http/standby.js';
import { openStores } from './store/open.js';
import { acquireLeaderLease, type LeaderLease } from './store/pg-lease.js';
import type { S3BlobStoreOptions } from './store/s3-blob-store.js';
import type { BlobStore, ClientSeenRecord, StateStore } from './store/types.js';
import { createMemoryLink, guard, helloDeadline, keepAlive, wsPeer, type Peer } from './transport.js';
import { combinerLinkHandlers } from './discovery/combiner-link.js';
import { controllerMetrics, countModelDownloads, listenMetrics, registerMetricsRoute, type FedMetrics } from './metrics/index.js';
import { newRequestId } from './log.js';
import { TransientBlobs } from './store/transient-blobs.js';

/** A Fastify plugin to register on the server, with its options. */
export type ServerPlugin = FastifyPluginAsync | { plugin: FastifyPluginAsync<any>; options?: Record<string, unknown> };

export interface ServerOptions {
  /** State (SQLite) and blobs live here unless `stateUrl` / `blobsUrl` say otherwise. Default `./.fedweb`. */
  dataDir?: string;
  /** `--state`: a SQLite file or `postgres://...` (default `<dataDir>/state.db`). */
  stateUrl?: string;
  /** `--blobs`: a folder or `s3://bucket/prefix` (default `<dataDir>/blobs`). */
  blobsUrl?: string;
  /** S3 endpoint, region, path style, credentials (default: the AWS environment). */
  s3?: Omit<S3BlobStoreOptions, 'bucket' | 'prefix'>;
  /**
   * With state on PostgreSQL, the controller first takes the leader lease (store/pg-lease.ts): while another
   * controller holds it, this one waits (standby), calling `onStandby`, and listens on nothing.
   */
  onStandby?: () => void;
  /** The leader lease was lost (its PostgreSQL connection died). Default: close this server. */
  onLeaseLost?: () => void;
  /** Default 8080; 0 picks a free port (see `FedServer.url`). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Auth secret (>= 16 chars): the Ed25519 token key is derived from it. Absent (and no `tokenKeyFile`): auth off, with a loud warning. */
  secret?: string;
  /** An Ed25519 private key (PKCS#8 PEM) that signs tokens instead of the key derived from `secret`. */
  tokenKeyFile?: string;
  /** Accept tokens without `exp` (never expiring). Default false: they are refused. */
  allowTokensWithoutExp?: boolean;
  /** Allow auth off on a non-loopback host (anyone on the network can then push code to clients). Default false. */
  insecure?: boolean;
  /** A compute package folder (`package.mjs`, `manifest.json`, `seed-model.fwf`) uploaded and activated at start. */
  computePackage?: { dir: string };
  /** Serve this folder at `/` (a built site). */
  staticDir?: string;
  /** Extra Fastify plugins (e.g. the simulation shard routes). */
  plugins?: ServerPlugin[];
  /** Heartbeat interval told to clients; silent for 3x this = offline. Default 5000. */
  heartbeatMs?: number;
  /** Ping interval of each external combiner's link; a ping unanswered by the next one drops the combiner. Default 10 000. */
  linkKeepaliveMs?: number;
  /** Run the embedded combiner (default true, id `embedded`). */
  embeddedCombiner?: boolean | { id?: string };
  /** Limits of the embedded combiner. */
  combiner?: Pick<CombinerOptions, 'maxUploadBytes' | 'maxInflightBytes' | 'maxClients' | 'foldConcurrency' | 'foldWorkers' | 'helloTimeoutMs' | 'maxPreAuthBytes' | 'reconnectGraceMs' | 'maxUploadAttempts'>;
  /** Connection caps and HTTP timeouts (see http/connections.ts; every field has a default). */
  connections?: Partial<ConnectionLimits>;
  discoveryPolicy?: DiscoveryPolicy;
  /** Default `info`. */
  logLevel?: LogLevel;
  /** Logs go to stdout; pass `false` to silence. */
  logger?: boolean;
  /** Human-readable log lines (pino-pretty) instead of JSON. Default: stdout is a terminal. */
  prettyLogs?: boolean;
  /** Replace the embedded SQLite / folder stores. */
  state?: StateStore;
  blobs?: BlobStore;
  /** Round timing knobs (see ControllerOptions). */
  prepareTimeoutMs?: number;
  partialGraceMs?: number;
  waitPollMs?: number;
  /** Largest JSON request body (other than package uploads), bytes. Default 4 MiB (413 `FRAME_TOO_LARGE` above). */
  maxBodyBytes?: number;
  /** Deepest nesting of a JSON request body. Default 64 (`MAX_JSON_DEPTH`; 400 `BAD_CONFIG` above). */
  maxJsonDepth?: number;
  /** Largest compute package bundle accepted by `POST /api/packages`. Default 64 MiB. */
  maxPackageBytes?: number;
  /** Client ids that never had an update counted are deleted once unseen this long (ms). Default 24 h. */
  clientRetentionMs?: number;
  /** Send `Access-Control-Allow-Origin: *` on `/api/*` (bearer tokens, no cookies). Default true. */
  cors?: boolean;
  /** `--metrics-port`: also serve `/metrics` without a token on a listener of its own (0 = a free port), bound to `metricsHost` (default 127.0.0.1). */
  metricsPort?: number;
  metricsHost?: string;
}

export interface FedServer {
  /** HTTP base, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  app: FastifyInstance;
  /** Sessions, model trail, packages (the test API). */
  controller: Controller;
  registry: CombinerRegistry;
  /** The embedded combiner, or null. */
  combiner: Combiner | null;
  state: StateStore;
  blobs: BlobStore;
  authEnabled: boolean;
  /** Prometheus metrics (`/metrics`), and the port of the separate metrics listener if one was asked for. */
  metrics: FedMetrics;
  metricsPort: number | null;
  close(): Promise<void>;
}

const COOP_COEP = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * Reads a package folder written by `fedweb package build`.
 * @example
 * ```ts
 * const pkg = await readPackageDir('./dist/package');
 * await server.controller.uploadPackage(pkg);
 * ```
 */
export async function readPackageDir(dir: string): Promise<{ manifest: unknown; bundle: Uint8Array; seedModel: Uint8Array }> {
  try {
    const [manifest, bundle, seedModel] = await Promise.all([
      readFile(join(dir, 'manifest.json'), 'utf8'),
      readFile(join(dir, 'package.mjs')),
      readFile(join(dir, 'seed-model.fwf')),
    ]);
    return { manifest: JSON.parse(manifest) as unknown, bundle: new Uint8Array(bundle), seedModel: new Uint8Array(seedModel) };
  } catch (e) {
    throw fedError('PACKAGE_INVALID', `cannot read the package folder ${dir} (package.mjs, manifest.json, seed-model.fwf): ${(e as Error).message}`);
  }
}

/**
 * Starts controller, discovery, reducer and (by default) the embedded combiner, listening on HTTP.
 * @example
 * ```ts
 * const server = await startServer({ dataDir: './.fedweb', port: 8080, computePackage: { dir: './dist/package' } });
 * const session = await server.controller.startSession({ rounds: 3 });
 * await server.controller.waitForSession(session.id);
 * await server.close();
 * ```
 */
export async function startServer(opts: ServerOptions = {}): Promise<FedServer> {
  const signingKey: SigningKey | undefined = opts.tokenKeyFile ? await loadSigningKey(opts.tokenKeyFile) : opts.secret ? await deriveSigningKey(opts.secret) : undefined;
  const auth = createAuthenticator(signingKey ? { verifyKey: await verifyKeyOf(signingKey), allowTokensWithoutExp: opts.allowTokensWithoutExp ?? false } : undefined);
  checkExposure({ host: opts.host ?? '127.0.0.1', authEnabled: auth.enabled, insecure: opts.insecure ?? false });
  const dataDir = resolve(opts.dataDir ?? './.fedweb');
  await mkdir(dataDir, { recursive: true });
  const limits = connectionLimits(opts.connections);
  const staticRoot = opts.staticDir ? await checkStaticRoot(opts.staticDir, dataDir) : undefined;
  const app = Fastify({
    ...fastifyTimeouts(limits),
    logger: opts.logger === false ? false : serverLoggerOptions(opts.logLevel ?? 'info', opts.prettyLogs),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxBodyBytes ?? 4 * 1024 * 1024,
    forceCloseConnections: true,
    genReqId: newRequestId,
  });
  const log: Logger = app.log;
  guardConnections(app.server, limits, log);
  if (!auth.enabled) log.warn({}, AUTH_OFF_WARNING);
  const stores = await openStores({
    dataDir,
    ...(opts.stateUrl ? { state: opts.stateUrl } : {}),
    ...(opts.blobsUrl ? { blobs: opts.blobsUrl } : {}),
    ...(opts.s3 ? { s3: opts.s3 } : {}),
    given: { ...(opts.state ? { state: opts.state } : {}), ...(opts.blobs ? { blobs: opts.blobs } : {}) },
  });
  const { state } = stores;
  // Derived, short-lived blobs (model download deltas) are served from memory in front of the store.
  const blobs = new TransientBlobs(stores.blobs);
  // One controller per PostgreSQL database and schema: the others stand by until the leader's lease ends.
  let lease: LeaderLease | null = null;
  if (stores.pgUrl) {
    const standby: { serving: Promise<() => Promise<void>> | null } = { serving: null };
    const onStandby = (): void => {
      // Port 0 means "any": a standby has no fixed address to hold, so it serves nothing while it waits.
      if (opts.port) standby.serving = serveStandby(opts.port, opts.host ?? '127.0.0.1', log).catch(() => async () => undefined);
      opts.onStandby?.();
    };
    try {
      lease = await acquireLeaderLease(stores.pgUrl, { log, onStandby });
    } catch (e) {
      await state.close();
      await blobs.close?.();
      throw e;
    } finally {
      if (standby.serving) await (await standby.serving)();
    }
  }

  // Clients seen are persisted in batches (status messages can list thousands).
  const dirty = new Map<string, ClientSeenRecord>();
  const flushClients = (): void => {
    if (dirty.size === 0) return;
    const batch = [...dirty.values()];
    dirty.clear();
    state.upsertClients(batch).catch((e: unknown) => log.error({ err: toFedError(e).message }, 'persisting clients failed'));
  };
  const flushTimer = setInterval(flushClients, 2000);
  flushTimer.unref();
  const gcTimer = collectClientGarbage(state, log, opts.clientRetentionMs ?? 24 * 3600_000);
  const registry = new CombinerRegistry(
    log,
    {
      status(combiner, clients) {
        for (const c of clients) {
          dirty.set(c.clientId, { clientId: c.clientId, combinerId: combiner.id, firstSeen: c.connectedAt, lastSeen: c.lastSeen, capabilities: c.capabilities, contributedAt: c.contributedAt ?? null });
        }
      },
      connected: () => undefined,
      disconnected: () => undefined,
    },
    opts.discoveryPolicy,
  );
  const controller = new Controller({
    state,
    blobs,
    registry,
    log,
    compressor: nodeZlibCompressor,
    ...(opts.prepareTimeoutMs !== undefined ? { prepareTimeoutMs: opts.prepareTimeoutMs } : {}),
    ...(opts.partialGraceMs !== undefined ? { partialGraceMs: opts.partialGraceMs } : {}),
    ...(opts.waitPollMs !== undefined ? { waitPollMs: opts.waitPollMs } : {}),
  });

  const metrics = controllerMetrics({ controller, registry, state });
  installErrorHandling(app);
  installOpenApi(app); // first: it collects every route registered after it
  countModelDownloads(app, metrics);
  registerMetricsRoute(app, metrics, auth);
  installJsonBodyParser(app, { maxDepth: opts.maxJsonDepth });
  app.addHook('onSend', async (req, reply, payload) => {
    void reply.headers(COOP_COEP).header('X-Request-Id', req.id);
    if ((opts.cors ?? true) && req.url.startsWith('/api/')) void reply.header('Access-Control-Allow-Origin', '*');
    return payload;
  });
  if (opts.cors ?? true) {
    app.options('/api/*', async (_req, reply) =>
      reply
        .header('Access-Control-Allow-Origin', '*')
        .header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS')
        .header('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-None-Match')
        .header('Access-Control-Max-Age', '600')
        .status(204)
        .send(),
    );
  }
  installAuthHook(app, auth);
  // Liveness: this process answers (a standby answers it too, see http/standby.ts); readiness is `/api/status`.
  app.get('/healthz', { config: { doc: HEALTHZ_DOC } }, async () => ({ kind: 'health', role: 'leader' }));
  await app.register(websocket, { options: { maxPayload: 16 * 1024 * 1024 } });
  registerApi(app, { controller, registry, state, blobs, metrics, authEnabled: auth.enabled, ...(signingKey ? { signingKey } : {}), startedAt: Date.now(), maxPackageBytes: opts.maxPackageBytes ?? 64 * 1024 * 1024 });
  registerLanding(app, { demo: Boolean(opts.staticDir), auth: auth.enabled });

  // External combiners dial in here.
  app.get(
    '/ws/combiner',
    {
      websocket: true,
      config: { doc: WS_COMBINER_DOC },
      // Combiners are Node processes and can send headers: refuse the upgrade itself without a valid token.
      preValidation: async (req) => {
        if (auth.enabled) authorize(await auth.verify(requestToken(req)), 'combine');
      },
    },
    (socket: WebSocket, req: FastifyRequest) => {
      let peer: Peer;
      const handlers = combinerLinkHandlers(registry, auth, log, false, requestToken(req), () => peer);
      peer = wsPeer(socket, log, helloDeadline(handlers, 'combiner.hello', opts.combiner?.helloTimeoutMs ?? 10_000, () => peer));
      keepAlive(socket, opts.linkKeepaliveMs ?? 10_000);
    },
  );

  let combiner: Combiner | null = null;
  const embedded = opts.embeddedCombiner ?? true;
  if (embedded) {
    const id = (typeof embedded === 'object' ? embedded.id : undefined) ?? 'embedded';
    combiner = new Combiner({
      ...opts.combiner,
      combinerId: id,
      clientUrl: '/ws/client',
      auth,
      compressor: nodeZlibCompressor,
      heartbeatMs: opts.heartbeatMs ?? 5000,
      observer: metrics.observer(),
      log: log.child ? log.child({ combinerId: id }) : log,
      async fetchBlob(ref) {
        const bytes = await blobs.get(ref.sha256);
        if (!bytes) throw fedError('NOT_FOUND', `blob ${ref.id} (${ref.sha256}) is missing`);
        return bytes;
      },
    });
    const c = combiner;
    const link = createMemoryLink(log);
    let controllerSide: Peer;
    controllerSide = link.connectA(combinerLinkHandlers(registry, auth, log, true, undefined, () => controllerSide));
    const combinerSide = link.connectB({
      message: (msg) => c.handleControllerMessage(msg),
      binary: () => log.warn({}, 'unexpected binary data from the controller'),
      close: () => c.handleControllerClosed(),
    });
    c.attachController(combinerSide);
    app.get('/ws/client', { websocket: true, config: { doc: WS_CLIENT_DOC } }, (socket: WebSocket, req: FastifyRequest) => {
      guard(log, 'attach client', () => c.attachClient(socket, requestToken(req), req.socket, req.id));
    });
  }

  for (const p of opts.plugins ?? []) {
    if (typeof p === 'function') await app.register(p);
    else await app.register(p.plugin, p.options ?? {});
  }
  if (staticRoot) await registerStaticSite(app, { root: staticRoot, headers: COOP_COEP });

  await app.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 8080);
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const metricsListener = opts.metricsPort !== undefined ? await listenMetrics(metrics, { port: opts.metricsPort, ...(opts.metricsHost ? { host: opts.metricsHost } : {}) }, log) : null;

  if (opts.computePackage) {
    const pkg = await readPackageDir(opts.computePackage.dir);
    const rec = await controller.uploadPackage(pkg);
    await auditPackage({ state, log }, LOCAL_ACTOR, rec);
    log.info({ name: rec.name, version: rec.version, sha256: rec.sha256 }, 'compute package loaded from folder');
  }
  await controller.init();
  log.info({ url, state: stores.where.state, blobs: stores.where.blobs, auth: auth.enabled }, `fedweb server listening on ${url}`);

  let closed = false;
  const server: FedServer = {
    url,
    port,
    app,
    controller,
    registry,
    combiner,
    state,
    blobs,
    authEnabled: auth.enabled,
    metrics,
    metricsPort: metricsListener?.port ?? null,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(flushTimer);
      clearInterval(gcTimer);
      await controller.close();
      await combiner?.close();
      registry.closeAll();
      await metricsListener?.close();
      await app.close();
      flushClients();
      await state.close();
      await blobs.close?.();
      await lease?.release();
    },
  };
  void lease?.lost.then(() => (opts.onLeaseLost ?? (() => void server.close()))());
  return server;
}
