/**
 * `/api/combiners`: the live combiners, with the URL clients dial and how many clients each holds.
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../../auth.js';
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
  app.get('/api/combiners', async (req) => {
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
