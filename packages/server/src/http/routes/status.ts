/**
 * `/api/status`: what any valid token may read: uptime, auth, combiners, clients online, the active session
 * and its live round, the active package and the strategies on offer.
 */
import type { FastifyInstance } from 'fastify';
import { listStrategies } from '../../strategy/index.js';
import { principalOf } from '../plumbing.js';
import type { RouteContext } from './context.js';

/**
 * Registers the status route.
 * @example
 * ```ts
 * registerStatusRoutes(app, routeContext(deps));
 * ```
 */
export function registerStatusRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { controller, registry, state } = ctx;
  app.get('/api/status', async (req) => {
    principalOf(req); // any valid token (every role) may read the status
    const sessions = await state.listSessions();
    const active = sessions.find((s) => s.status === 'running' || s.status === 'paused') ?? null;
    const pkg = await state.getActivePackage();
    const combiners = registry.list();
    return {
      kind: 'status',
      version: '0.1.0',
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
