/**
 * The live operator dashboard at `/dashboard` (same origin as the API):
 *  - page.ts       the HTML and CSS;
 *  - client/*.js   the browser modules (served at `/dashboard/assets/`): the event stream, the charts (uPlot,
 *                  served from this server's own node_modules, no CDN), the fleet table, the model trail;
 *  - events.ts     `GET /api/events`, the Server-Sent Events it listens to;
 *  - ledger.ts     what each round changed in the metrics (charted beside the round records).
 * With auth on, open it as `/dashboard#token=<jwt>`: the fragment never reaches the server, the page moves the
 * token to session storage and sends it only in `Authorization` headers.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ContributionsSchema } from '../../api-client/admin-responses.js';
import { authorize } from '../../auth.js';
import { htmlPageDoc, type RouteDoc } from '../openapi/route-doc.js';
import { principalOf } from '../plumbing.js';
import type { RouteContext } from '../routes/context.js';
import { parseBody as parse } from '../schemas.js';
import { registerEventStream } from './events.js';
import { RoundLedger } from './ledger.js';
import { DASHBOARD_HTML } from './page.js';

const require = createRequire(import.meta.url);
const CLIENT_FILES = ['app.js', 'api.js', 'charts.js', 'fleet.js', 'trail.js'] as const;

/** The files under `/dashboard/assets/`, read once at start: the page's modules and uPlot. */
function loadAssets(): Map<string, { type: string; body: string }> {
  const assets = new Map<string, { type: string; body: string }>();
  for (const f of CLIENT_FILES) assets.set(f, { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL(`./client/${f}`, import.meta.url), 'utf8') });
  assets.set('uplot.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8') });
  assets.set('eventsource-parser.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL(import.meta.resolve('eventsource-parser')), 'utf8') });
  assets.set('uplot.css', { type: 'text/css; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8') });
  return assets;
}

const ContributionsQuery = z.object({ ids: z.string().max(200 * 130).default(''), token: z.string().optional() });

/**
 * Registers `/dashboard`, its assets, `GET /api/events` and `GET /api/contributions`.
 * @example
 * ```ts
 * registerDashboard(app, routeContext(deps));
 * ```
 */
export function registerDashboard(app: FastifyInstance, ctx: RouteContext): void {
  const assets = loadAssets();
  const pageDoc = htmlPageDoc('The live dashboard (HTML)', 'Listens to `GET /api/events`; with auth on open it as `/dashboard#token=<jwt>` (the token then travels only in `Authorization` headers).');
  app.get('/dashboard', { config: { doc: pageDoc } }, async (_req, reply) => reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(DASHBOARD_HTML));
  app.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (req, reply) => {
    const a = assets.get(req.params.file);
    if (!a) return reply.status(404).send({ kind: 'error', code: 'NOT_FOUND', message: `no dashboard asset ${req.params.file}` });
    return reply.type(a.type).header('Cache-Control', 'no-cache').send(a.body);
  });
  registerEventStream(app, ctx, new RoundLedger(ctx));
  // Updates counted per client by this process's combiner since start (the fleet table's "rounds contributed").
  const contributionsDoc: RouteDoc = {
    tag: 'clients',
    summary: 'Updates counted per client',
    description: 'By this server\'s embedded combiner since the process started (the dashboard\'s "rounds contributed"); `ids` is a comma-separated list (the first 1000 are answered).',
    access: 'read',
    query: ContributionsQuery,
    responses: { 200: { description: 'a count per id', schema: ContributionsSchema } },
  };
  app.get('/api/contributions', { config: { doc: contributionsDoc } }, async (req) => {
    authorize(principalOf(req), 'read');
    const { ids } = parse(ContributionsQuery, req.query, 'query');
    const counts: Record<string, number> = {};
    for (const id of ids.split(',').filter(Boolean).slice(0, 1000)) counts[id] = ctx.metrics?.contributions.get(id) ?? 0;
    return { contributions: counts };
  });
}
