/**
 * Serves the API's OpenAPI 3.1 document at `/openapi.json` and its reference page at `/docs`, both public (the
 * document describes routes and schemas, nothing of this server's state). The document is built on its first
 * request from every route registered after {@link installOpenApi}: call it before the routes.
 */
import type { FastifyInstance } from 'fastify';
import { SERVER_VERSION } from '../routes/status.js';
import { registerDocsPage } from './docs-page.js';
import { buildOpenApi, type CollectedRoute } from './document.js';
import type { RouteDoc } from './route-doc.js';

const DESCRIPTION = `The REST API of a fedweb controller. Bodies are JSON; every error is \`{ "kind": "error", "code", "message" }\`
with the HTTP status of its code. With auth on, send \`Authorization: Bearer <jwt>\` (or \`?token=\`); each
operation names the roles that may call it (\`x-fedweb-role\`, and a **Role** line). With auth off every caller is an
anonymous admin. The WebSocket endpoints are listed as their \`GET\` upgrade; their messages are the codec's
(\`packages/codec/src/messages.ts\`).`;

const OPENAPI_DOC: RouteDoc = {
  tag: 'docs',
  summary: 'This OpenAPI 3.1 document',
  access: 'public',
  responses: { 200: { description: 'the document (JSON)', contentType: 'application/json' } },
};

/**
 * Collects every route registered from now on and serves `/openapi.json` and `/docs`.
 * @example
 * ```ts
 * installOpenApi(app); // before the routes
 * registerApi(app, deps); // GET /openapi.json now documents them
 * ```
 */
export function installOpenApi(app: FastifyInstance): void {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: r.url, doc: r.config?.doc });
    }
  });
  let doc: object | undefined;
  app.get('/openapi.json', { config: { doc: OPENAPI_DOC } }, async (_req, reply) => {
    doc ??= buildOpenApi(routes, { title: 'fedweb controller API', version: SERVER_VERSION, description: DESCRIPTION });
    return reply.header('Cache-Control', 'no-cache').send(doc);
  });
  registerDocsPage(app);
}
