/**
 * `/docs`: Swagger UI over `/openapi.json`, its script and style served from the `swagger-ui-dist` package in
 * node_modules (nothing is fetched from elsewhere: the page works offline, and its validator badge, which would
 * send the document to an outside service, is off).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { fedError } from '@fedweb/codec';
import { parseBody } from '../schemas.js';
import { htmlPageDoc } from './route-doc.js';

const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Starts Swagger UI on the page (a file, not an inline script, so a strict CSP can allow it). */
const INIT_JS = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedweb API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<style>body { margin: 0; } .topbar { display: none; }</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/** The files under `/docs/`: from swagger-ui-dist, or generated here. */
const ASSETS: Record<string, { type: string; load: () => Promise<string | Buffer> }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', load: () => readFile(join(DIST, 'swagger-ui.css')) },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', load: () => readFile(join(DIST, 'swagger-ui-bundle.js')) },
  'init.js': { type: 'text/javascript; charset=utf-8', load: async () => INIT_JS },
};

const AssetParam = z.object({ asset: z.string().max(64) });

const DOCS_DOC = htmlPageDoc('This API reference (HTML)', 'Swagger UI over `/openapi.json`; its assets come from this server, so it works offline.', 'docs');

/**
 * Registers `/docs` and its assets (`/docs/:asset`), read from node_modules once and kept in memory.
 * @example
 * ```ts
 * registerDocsPage(app); // then open http://127.0.0.1:8080/docs
 * ```
 */
export function registerDocsPage(app: FastifyInstance): void {
  const cache = new Map<string, Promise<string | Buffer>>();
  app.get('/docs', { config: { doc: DOCS_DOC } }, async (_req, reply) => reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(PAGE));
  app.get('/docs/:asset', async (req, reply) => {
    const { asset } = parseBody(AssetParam, req.params, 'params');
    const file = Object.hasOwn(ASSETS, asset) ? ASSETS[asset] : undefined;
    if (!file) throw fedError('NOT_FOUND', `no docs asset ${asset}`);
    let body = cache.get(asset);
    if (!body) cache.set(asset, (body = file.load()));
    return reply.type(file.type).header('Cache-Control', 'public, max-age=3600').send(await body);
  });
}
