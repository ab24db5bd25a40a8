/**
 * `/api/packages`: upload (base64 JSON body), the active package, and any stored package's manifest and bundle
 * by its SHA-256 (immutable: a package never changes).
 */
import type { FastifyInstance } from 'fastify';
import { ComputePackageManifestSchema, fedError } from '@fedweb/codec';
import { PackageEnvelopeSchema } from '../../api-client/responses.js';
import { authorize } from '../../auth.js';
import { actorOf, auditPackage } from '../../controller/audit.js';
import { packageRef } from '../../controller/packages.js';
import { modelRef } from '../../controller/trail.js';
import { sha256Node } from '../../store/fs-blob-store.js';
import type { PackageRecord } from '../../store/types.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { principalOf, sendImmutable } from '../plumbing.js';
import { PackageUploadSchema, parseBody as parse, ShaParam } from '../schemas.js';
import type { RouteContext } from './context.js';

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

/** Decodes a base64 body field (refusing anything that is not base64). */
function fromBase64(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/=\s]*$/.test(s)) throw fedError('BAD_CONFIG', `body.${what} is not base64`);
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Registers the package routes.
 * @example
 * ```ts
 * registerPackageRoutes(app, routeContext(deps));
 * ```
 */
export function registerPackageRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { controller, state } = ctx;
  // base64 grows the body by 4/3 (RFC 4648 §4), plus room for the manifest and the seed model.
  const bodyLimit = Math.ceil(ctx.maxPackageBytes * 1.37) + 1024 * 1024;

  const notModified = { description: 'not modified (`If-None-Match` matched the ETag)' };
  const uploadDoc: RouteDoc = {
    tag: 'packages',
    summary: 'Upload a compute package',
    description: 'The manifest, the ES module bundle and the seed model (base64). Checks the manifest, the bundle\'s SHA-256 and the seed model; `activate` (default true) makes it the active package.',
    access: 'operate',
    body: PackageUploadSchema,
    responses: { 201: { description: 'the stored package', schema: PackageEnvelopeSchema } },
    errors: ['PACKAGE_INVALID', 'BAD_FRAME', 'NON_FINITE'],
  };
  app.post('/api/packages', { bodyLimit, config: { doc: uploadDoc } }, async (req, reply) => {
    const who = principalOf(req);
    authorize(who, 'operate');
    const body = parse(PackageUploadSchema, req.body, 'body');
    const rec = await controller.uploadPackage({
      manifest: body.manifest,
      bundle: fromBase64(body.bundle, 'bundle'),
      seedModel: fromBase64(body.seedModel, 'seedModel'),
      activate: body.activate,
    });
    await auditPackage({ state, log: req.log }, actorOf(who), rec);
    return reply.status(201).send({ package: packageView(rec, await state.getModel(rec.seedModelId)) });
  });

  const activeDoc: RouteDoc = {
    tag: 'packages',
    summary: 'The active compute package',
    access: 'download',
    responses: { 200: { description: 'the package, with where to download its bundle and seed model', schema: PackageEnvelopeSchema } },
    errors: ['NOT_FOUND'],
  };
  app.get('/api/packages/active', { config: { doc: activeDoc } }, async (req) => {
    authorize(principalOf(req), 'download');
    const pkg = await state.getActivePackage();
    if (!pkg) throw fedError('NOT_FOUND', 'no compute package uploaded yet');
    return { package: packageView(pkg, await state.getModel(pkg.seedModelId)) };
  });

  /** A stored package by its bundle's hash (not only the active one: a client may load one it cached). */
  const stored = async (params: unknown): Promise<PackageRecord> => {
    const { sha256 } = parse(ShaParam, params, 'params');
    const pkg = await state.getPackage(sha256);
    if (!pkg) throw fedError('NOT_FOUND', `no package ${sha256}`);
    return pkg;
  };

  // The manifest's ETag is the SHA-256 of the exact JSON bytes served.
  const manifestDoc: RouteDoc = {
    tag: 'packages',
    summary: "A stored package's manifest",
    description: 'Any uploaded package by its bundle\'s SHA-256, not only the active one; immutable, `ETag` = SHA-256 of the JSON bytes served.',
    access: 'download',
    params: ShaParam,
    responses: { 200: { description: 'the manifest', schema: ComputePackageManifestSchema }, 304: notModified },
    errors: ['NOT_FOUND'],
  };
  app.get('/api/packages/:sha256/manifest', { config: { doc: manifestDoc } }, async (req, reply) => {
    authorize(principalOf(req), 'download');
    const pkg = await stored(req.params);
    const bytes = new TextEncoder().encode(JSON.stringify(pkg.manifest));
    return sendImmutable(req, reply, sha256Node(bytes), bytes, 'application/json; charset=utf-8');
  });

  const bundleDoc: RouteDoc = {
    tag: 'packages',
    summary: "A stored package's bundle",
    description: 'The ES module; immutable, `ETag: "<sha256>"`.',
    access: 'download',
    params: ShaParam,
    responses: { 200: { description: 'the bundle', contentType: 'text/javascript' }, 304: notModified },
    errors: ['NOT_FOUND'],
  };
  app.get('/api/packages/:sha256', { config: { doc: bundleDoc } }, async (req, reply) => {
    authorize(principalOf(req), 'download');
    const pkg = await stored(req.params);
    return ctx.serveBlob(req, reply, pkg.sha256, 'text/javascript; charset=utf-8');
  });
}
