/**
 * `/api/sessions`: list, start, read (with rounds, metrics and the live round), pause, resume, stop.
 */
import type { FastifyInstance } from 'fastify';
import { authorize, grantsOf, type Principal } from '../../auth.js';
import { actorOf, recordAudit } from '../../controller/audit.js';
import type { SessionRecord } from '../../store/types.js';
import { principalOf } from '../plumbing.js';
import { IdParam, parseBody as parse, RollbackSchema } from '../schemas.js';
import type { RouteContext } from './context.js';

/**
 * A session as `principal` may see it: the sampling `seed` of its config only for those who may operate sessions
 * (viewers and clients learn nothing from which clients a round sampled; DP noise never comes from it anyway).
 * @example
 * ```ts
 * return { sessions: sessions.map((s) => sessionFor(principalOf(req), s)) };
 * ```
 */
export function sessionFor(principal: Principal, session: SessionRecord): SessionRecord {
  if (grantsOf(principal.role).has('operate')) return session;
  const { seed: _seed, ...config } = session.config;
  return { ...session, config: config as SessionRecord['config'] };
}

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
    const who = principalOf(req);
    authorize(who, 'read');
    return { sessions: (await controller.listSessions()).map((s) => sessionFor(who, s)) };
  });

  app.post('/api/sessions', async (req, reply) => {
    const who = principalOf(req);
    authorize(who, 'operate');
    const session = await controller.startSession(req.body ?? {});
    await recordAudit({ state, log: req.log }, actorOf(who), 'session.start', session.id, { rounds: session.config.rounds, strategy: session.config.strategy.name, packageSha: session.packageSha, initialModelId: session.initialModelId });
    return reply.status(201).send({ session });
  });

  app.get('/api/sessions/:id', async (req) => {
    const who = principalOf(req);
    authorize(who, 'read');
    const { id } = parse(IdParam, req.params, 'params');
    const detail = await controller.getSession(id);
    return { ...detail, session: sessionFor(who, detail.session), metrics: await state.listMetrics(id) };
  });

  const actions = { pause: (id: string) => controller.pauseSession(id), resume: (id: string) => controller.resumeSession(id), stop: (id: string) => controller.stopSession(id) };
  for (const [action, run] of Object.entries(actions)) {
    app.post(`/api/sessions/:id/${action}`, async (req) => {
      const who = principalOf(req);
      authorize(who, 'operate');
      const { id } = parse(IdParam, req.params, 'params');
      const session = await run(id);
      await recordAudit({ state, log: req.log }, actorOf(who), `session.${action as keyof typeof actions}`, id, { completedRounds: session.completedRounds, modelId: session.currentModelId });
      return { session };
    });
  }

  app.post('/api/sessions/:id/rollback', async (req) => {
    const who = principalOf(req);
    authorize(who, 'operate');
    const { id } = parse(IdParam, req.params, 'params');
    const { modelId } = parse(RollbackSchema, req.body ?? {}, 'body');
    const { session, previousModelId } = await controller.rollbackSession(id, modelId);
    await recordAudit({ state, log: req.log }, actorOf(who), 'session.rollback', id, { modelId, previousModelId, completedRounds: session.completedRounds });
    return { session: sessionFor(who, session), previousModelId };
  });
}
