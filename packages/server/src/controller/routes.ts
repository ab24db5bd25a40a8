/**
 * The controller's REST API (bodies validated with zod; errors as `{ kind: 'error', code, message }`).
 * See the README's "REST API" table.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fedError } from '@fedweb/codec';
import { authorize, authorizeClientId } from '../auth.js';
import { principalOf, sendImmutable } from '../http.js';
import { sha256Node } from '../store/fs-blob-store.js';
import type { BlobStore, ClientSeenRecord, ModelRecord, PackageRecord, StateStore } from '../store/types.js';
import { listStrategies } from '../strategy/index.js';
import { DiscoverSchema, IdParam, ModelsQuery, PackageUploadSchema, parseBody as parse, ShaParam } from '../http/schemas.js';
import { Controller, modelRef, packageRef } from './controller.js';
import { DASHBOARD_HTML } from './dashboard.js';
import type { CombinerRegistry } from './registry.js';

export interface ApiDeps {
  controller: Controller;
  registry: CombinerRegistry;
  state: StateStore;
  blobs: BlobStore;
  authEnabled: boolean;
  startedAt: number;
  maxPackageBytes: number;
}

/**
 * Resolves a combiner URL for a client: a path (the embedded combiner) becomes `ws(s)://<Host header><path>`.
 * @example
 * ```ts
 * wsUrlFor('/ws/client', req) // 'ws://127.0.0.1:8080/ws/client'
 * ```
 */
export function wsUrlFor(url: string, req: FastifyRequest): string {
  if (!url.startsWith('/')) return url;
  const proto = req.protocol === 'https' ? 'wss' : 'ws';
  return `${proto}://${req.headers.host ?? `${req.hostname}`}${url}`;
}

/**
 * A model of the trail as clients and viewers see it: the blob's server-side location (`blobPath`, a file path
 * or object key) stays internal; `url` is where to download it.
 * @example
 * ```ts
 * modelView(rec) // { id, parentId, sessionId, round, sha256, bytes, url: '/api/models/<id>', metrics, createdAt }
 * ```
 */
export function modelView(m: ModelRecord) {
  return {
    id: m.id,
    parentId: m.parentId,
    sessionId: m.sessionId,
    round: m.round,
    sha256: m.sha256,
    bytes: m.bytes,
    url: modelRef(m).url,
    metrics: m.metrics,
    createdAt: m.createdAt,
  };
}

function packageView(p: PackageRecord, seed: { id: string; sha256: string; bytes: number } | null) {
  return {
    sha256: p.sha256,
    name: p.name,
    version: p.version,
    manifest: p.manifest,
    active: p.active,
    createdAt: p.createdAt,
    bundle: packageRef(p),
    seedModel: seed ? modelRef(seed) : null,
  };
}

/**
 * Registers every `/api/*` route and `/dashboard`.
 * @example
 * ```ts
 * registerApi(app, { controller, registry, state, blobs, authEnabled, startedAt: Date.now(), maxPackageBytes });
 * ```
 */
export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const { controller, registry, state, blobs } = deps;
  /** The few most recent blobs, so a round's model is read from disk once, not once per client. */
  const cache = new Map<string, Uint8Array>();
  const cachedBlob = async (sha: string): Promise<Uint8Array | null> => {
    const hit = cache.get(sha);
    if (hit) return hit;
    const bytes = await blobs.get(sha);
    if (bytes && bytes.byteLength <= 256 * 1024 * 1024) {
      cache.set(sha, bytes);
      while (cache.size > 4) cache.delete(cache.keys().next().value as string);
    }
    return bytes;
  };

  app.post('/api/discover', async (req) => {
    const body = parse(DiscoverSchema, req.body, 'body');
    const principal = principalOf(req);
    authorize(principal, 'discover');
    if (principal.role === 'client') authorizeClientId(principal, body.clientId);
    const handle = registry.assign(body.clientId);
    return { combinerId: handle.id, url: wsUrlFor(handle.url, req) };
  });

  app.get('/api/status', async (req) => {
    principalOf(req); // any valid token (every role) may read the status
    const sessions = await state.listSessions();
    const active = sessions.find((s) => s.status === 'running' || s.status === 'paused') ?? null;
    const pkg = await state.getActivePackage();
    const combiners = registry.list();
    return {
      kind: 'status',
      version: '0.1.0',
      auth: deps.authEnabled,
      uptimeS: Math.round((Date.now() - deps.startedAt) / 1000),
      combiners: combiners.length,
      clientsOnline: combiners.reduce((n, c) => n + c.clients.size, 0),
      activeSession: active
        ? { id: active.id, name: active.name, status: active.status, completedRounds: active.completedRounds, rounds: active.config.rounds, currentModelId: active.currentModelId }
        : null,
      live: controller.liveRounds(),
      package: pkg ? { sha256: pkg.sha256, name: pkg.name, version: pkg.version } : null,
      strategies: listStrategies(),
    };
  });

  app.get('/api/sessions', async (req) => {
    authorize(principalOf(req), 'read');
    return { sessions: await controller.listSessions() };
  });

  app.post('/api/sessions', async (req, reply) => {
    authorize(principalOf(req), 'operate');
    const session = await controller.startSession(req.body ?? {});
    return reply.status(201).send({ session });
  });

  app.get('/api/sessions/:id', async (req) => {
    authorize(principalOf(req), 'read');
    const { id } = parse(IdParam, req.params, 'params');
    const detail = await controller.getSession(id);
    return { ...detail, metrics: await state.listMetrics(id) };
  });

  for (const action of ['pause', 'resume', 'stop'] as const) {
    app.post(`/api/sessions/:id/${action}`, async (req) => {
      authorize(principalOf(req), 'operate');
      const { id } = parse(IdParam, req.params, 'params');
      const session =
        action === 'pause' ? await controller.pauseSession(id) : action === 'resume' ? await controller.resumeSession(id) : await controller.stopSession(id);
      return { session };
    });
  }

  app.get('/api/models', async (req) => {
    authorize(principalOf(req), 'read');
    const q = parse(ModelsQuery, req.query, 'query');
    return { models: (await state.listModels(q.sessionId ? { sessionId: q.sessionId } : {})).map(modelView) };
  });

  app.get('/api/models/:id', async (req, reply) => {
    authorize(principalOf(req), 'download');
    const { id } = parse(IdParam, req.params, 'params');
    const sha = await controller.modelSha(id);
    if (!sha) throw fedError('NOT_FOUND', `no model ${id}`);
    return sendImmutable(req, reply, sha, await cachedBlob(sha), 'application/octet-stream');
  });

  app.get('/api/blobs/:sha256', async (req, reply) => {
    authorize(principalOf(req), 'download');
    const { sha256 } = parse(ShaParam, req.params, 'params');
    const bytes = await cachedBlob(sha256);
    if (!bytes) throw fedError('NOT_FOUND', `no blob ${sha256}`);
    return sendImmutable(req, reply, sha256, bytes, 'application/octet-stream');
  });

  app.post('/api/packages', { bodyLimit: Math.ceil(deps.maxPackageBytes * 1.37) + 1024 * 1024 }, async (req, reply) => {
    authorize(principalOf(req), 'operate');
    const body = parse(PackageUploadSchema, req.body, 'body');
    const decode = (s: string, what: string): Uint8Array => {
      if (!/^[A-Za-z0-9+/=\s]*$/.test(s)) throw fedError('BAD_CONFIG', `body.${what} is not base64`);
      const b = Buffer.from(s, 'base64');
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    };
    const rec = await controller.uploadPackage({ manifest: body.manifest, bundle: decode(body.bundle, 'bundle'), seedModel: decode(body.seedModel, 'seedModel'), activate: body.activate });
    const seed = await state.getModel(rec.seedModelId);
    return reply.status(201).send({ package: packageView(rec, seed) });
  });

  app.get('/api/packages/active', async (req) => {
    authorize(principalOf(req), 'download');
    const pkg = await state.getActivePackage();
    if (!pkg) throw fedError('NOT_FOUND', 'no compute package uploaded yet');
    return { package: packageView(pkg, await state.getModel(pkg.seedModelId)) };
  });

  // The manifest of any stored package by its bundle's hash (not only the active one): a client can load a
  // package it cached, or one an older session trains. Immutable like the bundle (a package never changes);
  // the ETag is the SHA-256 of the exact JSON bytes served.
  app.get('/api/packages/:sha256/manifest', async (req, reply) => {
    authorize(principalOf(req), 'download');
    const { sha256 } = parse(ShaParam, req.params, 'params');
    const pkg = await state.getPackage(sha256);
    if (!pkg) throw fedError('NOT_FOUND', `no package ${sha256}`);
    const bytes = new TextEncoder().encode(JSON.stringify(pkg.manifest));
    return sendImmutable(req, reply, sha256Node(bytes), bytes, 'application/json; charset=utf-8');
  });

  app.get('/api/packages/:sha256', async (req, reply) => {
    authorize(principalOf(req), 'download');
    const { sha256 } = parse(ShaParam, req.params, 'params');
    const pkg = await state.getPackage(sha256);
    if (!pkg) throw fedError('NOT_FOUND', `no package ${sha256}`);
    return sendImmutable(req, reply, sha256, await cachedBlob(sha256), 'text/javascript; charset=utf-8');
  });

  app.get('/api/clients', async (req) => {
    authorize(principalOf(req), 'read');
    const seen = new Map<string, ClientSeenRecord>((await state.listClients()).map((c) => [c.clientId, c]));
    const live = new Map<string, { combinerId: string; lastSeen: number; connectedAt: number; capabilities: ClientSeenRecord['capabilities'] }>();
    for (const c of registry.list()) for (const info of c.clients.values()) live.set(info.clientId, { combinerId: c.id, ...info });
    const ids = new Set([...seen.keys(), ...live.keys()]);
    const clients = [...ids].sort().map((id) => {
      const s = seen.get(id);
      const l = live.get(id);
      return {
        clientId: id,
        online: !!l,
        combinerId: l?.combinerId ?? null,
        lastCombinerId: l?.combinerId ?? s?.combinerId ?? null,
        firstSeen: s?.firstSeen ?? l?.connectedAt ?? null,
        lastSeen: Math.max(s?.lastSeen ?? 0, l?.lastSeen ?? 0),
        capabilities: l?.capabilities ?? s?.capabilities ?? {},
      };
    });
    return { clients, online: live.size };
  });

  app.get('/api/combiners', async (req) => {
    authorize(principalOf(req), 'read');
    return {
      combiners: registry.list().map((c) => ({
        combinerId: c.id,
        url: wsUrlFor(c.url, req),
        embedded: c.embedded,
        clients: c.clients.size,
        connectedAt: c.connectedAt,
        lastStatusAt: c.lastStatusAt,
      })),
    };
  });

  app.get('/dashboard', async (_req, reply) => reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(DASHBOARD_HTML));
}
