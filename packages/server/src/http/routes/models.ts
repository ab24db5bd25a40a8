/**
 * `/api/models` (the model trail and each model's bytes) and `/api/blobs/:sha256` (strategy client tensors),
 * both immutable and content-addressed.
 */
import type { FastifyInstance } from 'fastify';
import { fedError } from '@fedweb/codec';
import { authorize } from '../../auth.js';
import { modelRef } from '../../controller/trail.js';
import type { ModelRecord } from '../../store/types.js';
import { ModelListSchema } from '../../api-client/responses.js';
import type { ResponseDoc, RouteDoc } from '../openapi/route-doc.js';
import { principalOf } from '../plumbing.js';
import { IdParam, ModelsQuery, parseBody as parse, ShaParam } from '../schemas.js';
import type { RouteContext } from './context.js';

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

/**
 * Registers the model and blob routes.
 * @example
 * ```ts
 * registerModelRoutes(app, routeContext(deps));
 * ```
 */
export function registerModelRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { controller, state } = ctx;
  const immutable = (what: string): Record<number, ResponseDoc> => ({
    200: { description: `${what}; \`ETag: "<sha256>"\`, \`Cache-Control: immutable\``, contentType: 'application/octet-stream' },
    304: { description: 'not modified (`If-None-Match` matched the ETag)' },
  });

  const listDoc: RouteDoc = {
    tag: 'models',
    summary: 'The model trail',
    description: 'Every model (id, parent, session, round, SHA-256, size, download URL, metrics), optionally of one session.',
    access: 'read',
    query: ModelsQuery,
    responses: { 200: { description: 'the models, oldest first', schema: ModelListSchema } },
  };
  app.get('/api/models', { config: { doc: listDoc } }, async (req) => {
    authorize(principalOf(req), 'read');
    const q = parse(ModelsQuery, req.query, 'query');
    return { models: (await state.listModels(q.sessionId ? { sessionId: q.sessionId } : {})).map(modelView) };
  });

  const modelDoc: RouteDoc = { tag: 'models', summary: "Download a model's bytes", description: 'The model frame (the codec\'s tensor frame).', access: 'download', params: IdParam, responses: immutable('the frame'), errors: ['NOT_FOUND'] };
  app.get('/api/models/:id', { config: { doc: modelDoc } }, async (req, reply) => {
    authorize(principalOf(req), 'download');
    const { id } = parse(IdParam, req.params, 'params');
    const sha = await controller.modelSha(id);
    if (!sha) throw fedError('NOT_FOUND', `no model ${id}`);
    return ctx.serveBlob(req, reply, sha, 'application/octet-stream');
  });

  const blobDoc: RouteDoc = { tag: 'models', summary: 'Download a content-addressed blob', description: "Other blobs a strategy sends clients (e.g. SCAFFOLD's server control variate).", access: 'download', params: ShaParam, responses: immutable('the bytes'), errors: ['NOT_FOUND'] };
  app.get('/api/blobs/:sha256', { config: { doc: blobDoc } }, async (req, reply) => {
    authorize(principalOf(req), 'download');
    const { sha256 } = parse(ShaParam, req.params, 'params');
    return ctx.serveBlob(req, reply, sha256, 'application/octet-stream', `no blob ${sha256}`);
  });
}
