/**
 * `/api/combiners`: the live combiners, with the URL clients dial and how many clients each holds.
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../../auth.js';
import { CombinerListSchema } from '../../api-client/responses.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { principalOf, wsUrlFor } from '../plumbing.js';
import type { RouteContext } from './context.js';

/**
 * Registers the combiner route.
 * @example
 * ```ts
 * registerCombinerRoutes(app, routeContext(deps));
 * ```
 */
export function registerCombinerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const doc: RouteDoc = {
    tag: 'combiners',
    summary: 'List live combiners',
    access: 'read',
    responses: { 200: { description: 'each combiner, the URL clients dial and how many clients it holds', schema: CombinerListSchema } },
  };
  app.get('/api/combiners', { config: { doc } }, async (req) => {
    authorize(principalOf(req), 'read');
    return {
      combiners: ctx.registry.list().map((c) => ({
        combinerId: c.id,
        url: wsUrlFor(c.url, req),
        embedded: c.embedded,
        clients: c.clients.size,
        connectedAt: c.connectedAt,
        lastStatusAt: c.lastStatusAt,
      })),
    };
  });
}
