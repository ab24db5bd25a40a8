/**
 * http/ owns the controller's HTTP surface: REST routes, their schemas, plumbing and the dashboard.
 *
 * The REST API (one module per resource under routes/,
 * bodies validated with the zod schemas of schemas.ts, errors as `{ kind: 'error', code, message }`), the
 * plumbing (plumbing.ts: error handler, auth hook, immutable responses) and the dashboard. See the README's
 * "REST API" table.
 */
import type { FastifyInstance } from 'fastify';
import { registerDashboard } from './dashboard/index.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerClientRoutes } from './routes/clients.js';
import { registerCombinerRoutes } from './routes/combiners.js';
import { routeContext, type ApiDeps } from './routes/context.js';
import { registerModelRoutes } from './routes/models.js';
import { registerPackageRoutes } from './routes/packages.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerStatusRoutes } from './routes/status.js';
import { registerTokenRoutes } from './routes/tokens.js';

/**
 * Registers every `/api/*` route and `/dashboard` (with its event stream, `/api/events`).
 * @example
 * ```ts
 * registerApi(app, { controller, registry, state, blobs, authEnabled, startedAt: Date.now(), maxPackageBytes });
 * ```
 */
export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const ctx = routeContext(deps);
  registerClientRoutes(app, ctx);
  registerStatusRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerModelRoutes(app, ctx);
  registerPackageRoutes(app, ctx);
  registerCombinerRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerDashboard(app, ctx);
}
