/**
 * `/api/status`: what any valid token may read: uptime, auth, combiners, clients online, the active session
 * and its live round, the active package and the strategies on offer.
 */
import type { FastifyInstance } from 'fastify';
import { listStrategies } from '../../strategy/index.js';
import { StatusResponseSchema } from '../../api-client/responses.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { principalOf } from '../plumbing.js';
import type { RouteContext } from './context.js';

/**
 * The server's version, as `/api/status` and `/openapi.json` report it.
 * @example
 * ```ts
 * SERVER_VERSION // '0.1.0'
 * ```
 */
export const SERVER_VERSION = '0.1.0';

/**
 * Registers the status route.
 * @example
 * ```ts
 * registerStatusRoutes(app, routeContext(deps));
 * ```
 */
export function registerStatusRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { controller, registry, state } = ctx;
  const doc: RouteDoc = {
    tag: 'status',
    summary: 'Server status',
    description: 'Version, auth on/off, uptime, combiners, clients online, the active session and its live round, the active package, the strategies on offer. Readiness: a leader answers it, a standby does not.',
    access: 'token',
    responses: { 200: { description: 'the status', schema: StatusResponseSchema } },
  };
  app.get('/api/status', { config: { doc } }, async (req) => {
    principalOf(req); // any valid token (every role) may read the status
    const sessions = await state.listSessions();
    const active = sessions.find((s) => s.status === 'running' || s.status === 'paused') ?? null;
    const pkg = await state.getActivePackage();
    const combiners = registry.list();
    return {
      kind: 'status',
      version: SERVER_VERSION,
      auth: ctx.authEnabled,
      uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
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
}
