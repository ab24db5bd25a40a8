/**
 * `/api/sessions`: list, start, read (with rounds, metrics and the live round), pause, resume, stop.
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../../auth.js';
import { principalOf } from '../plumbing.js';
import { IdParam, parseBody as parse } from '../schemas.js';
import type { RouteContext } from './context.js';

/**
 * Registers the session routes.
 * @example
 * ```ts
 * registerSessionRoutes(app, routeContext(deps));
 * ```
 */
export function registerSessionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { controller, state } = ctx;

  app.get('/api/sessions', async (req) => {
    authorize(principalOf(req), 'read');
    return { sessions: await controller.listSessions() };
  });

  app.post('/api/sessions', async (req, reply) => {
    authorize(principalOf(req), 'operate');
    const session = await controller.startSession(req.body ?? {});
    return reply.status(201).send({ session });
  });

  app.get('/api/sessions/:id', async (req) => {
    authorize(principalOf(req), 'read');
    const { id } = parse(IdParam, req.params, 'params');
    const detail = await controller.getSession(id);
    return { ...detail, metrics: await state.listMetrics(id) };
  });

  const actions = { pause: (id: string) => controller.pauseSession(id), resume: (id: string) => controller.resumeSession(id), stop: (id: string) => controller.stopSession(id) };
  for (const [action, run] of Object.entries(actions)) {
    app.post(`/api/sessions/:id/${action}`, async (req) => {
      authorize(principalOf(req), 'operate');
      const { id } = parse(IdParam, req.params, 'params');
      return { session: await run(id) };
    });
  }
}
