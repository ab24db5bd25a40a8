/**
 * `/api/sessions`: list, start, read (with rounds, metrics and the live round), pause, resume, stop.
 */
import type { FastifyInstance } from 'fastify';
import { authorize, grantsOf, type Principal } from '../../auth.js';
import { RollbackResponseSchema, SessionDetailSchema, SessionEnvelopeSchema, SessionListSchema } from '../../api-client/responses.js';
import { actorOf, recordAudit } from '../../controller/audit.js';
import type { SessionRecord } from '../../store/types.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { principalOf } from '../plumbing.js';
import { IdParam, parseBody as parse, RollbackSchema, StartSessionSchema } from '../schemas.js';
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

  const seedNote = 'The config\'s sampling `seed` is shown only to roles that may operate sessions.';
  const listDoc: RouteDoc = { tag: 'sessions', summary: 'List sessions', description: seedNote, access: 'read', responses: { 200: { description: 'every session', schema: SessionListSchema } } };
  app.get('/api/sessions', { config: { doc: listDoc } }, async (req) => {
    const who = principalOf(req);
    authorize(who, 'read');
    return { sessions: (await controller.listSessions()).map((s) => sessionFor(who, s)) };
  });

  const startDoc: RouteDoc = {
    tag: 'sessions',
    summary: 'Start a session',
    description: 'The session config (every field optional, defaults shown) and an optional id. One session runs at a time.',
    access: 'operate',
    body: StartSessionSchema,
    responses: { 201: { description: 'the started session', schema: SessionEnvelopeSchema } },
    errors: ['CONFLICT', 'NOT_FOUND'],
  };
  app.post('/api/sessions', { config: { doc: startDoc } }, async (req, reply) => {
    const who = principalOf(req);
    authorize(who, 'operate');
    const session = await controller.startSession(req.body ?? {});
    await recordAudit({ state, log: req.log }, actorOf(who), 'session.start', session.id, { rounds: session.config.rounds, strategy: session.config.strategy.name, packageSha: session.packageSha, initialModelId: session.initialModelId });
    return reply.status(201).send({ session });
  });

  const getDoc: RouteDoc = {
    tag: 'sessions',
    summary: 'Read a session',
    description: `The session, its rounds, the round in progress and its metric rows. ${seedNote}`,
    access: 'read',
    params: IdParam,
    responses: { 200: { description: 'the session in detail', schema: SessionDetailSchema } },
    errors: ['NOT_FOUND'],
  };
  app.get('/api/sessions/:id', { config: { doc: getDoc } }, async (req) => {
    const who = principalOf(req);
    authorize(who, 'read');
    const { id } = parse(IdParam, req.params, 'params');
    const detail = await controller.getSession(id);
    return { ...detail, session: sessionFor(who, detail.session), metrics: await state.listMetrics(id) };
  });

  const actions = {
    pause: { run: (id: string) => controller.pauseSession(id), what: 'Pause a running session (the round in flight finishes)' },
    resume: { run: (id: string) => controller.resumeSession(id), what: 'Resume a paused session' },
    stop: { run: (id: string) => controller.stopSession(id), what: 'Stop a session (the round in flight is aborted)' },
  };
  for (const [action, { run, what }] of Object.entries(actions)) {
    const doc: RouteDoc = { tag: 'sessions', summary: what, access: 'operate', params: IdParam, responses: { 200: { description: 'the session', schema: SessionEnvelopeSchema } }, errors: ['NOT_FOUND', 'CONFLICT'] };
    app.post(`/api/sessions/:id/${action}`, { config: { doc } }, async (req) => {
      const who = principalOf(req);
      authorize(who, 'operate');
      const { id } = parse(IdParam, req.params, 'params');
      const session = await run(id);
      await recordAudit({ state, log: req.log }, actorOf(who), `session.${action as keyof typeof actions}`, id, { completedRounds: session.completedRounds, modelId: session.currentModelId });
      return { session };
    });
  }

  const rollbackDoc: RouteDoc = {
    tag: 'sessions',
    summary: 'Roll back to an earlier model of the trail',
    description: 'The next round starts from `modelId` (one of this session\'s models, or the model it started from); a round in flight is aborted. Audited.',
    access: 'operate',
    params: IdParam,
    body: RollbackSchema,
    responses: { 200: { description: 'the session and the model it was at', schema: RollbackResponseSchema } },
    errors: ['NOT_FOUND', 'CONFLICT'],
  };
  app.post('/api/sessions/:id/rollback', { config: { doc: rollbackDoc } }, async (req) => {
    const who = principalOf(req);
    authorize(who, 'operate');
    const { id } = parse(IdParam, req.params, 'params');
    const { modelId } = parse(RollbackSchema, req.body ?? {}, 'body');
    const { session, previousModelId } = await controller.rollbackSession(id, modelId);
    await recordAudit({ state, log: req.log }, actorOf(who), 'session.rollback', id, { modelId, previousModelId, completedRounds: session.completedRounds });
    return { session: sessionFor(who, session), previousModelId };
  });
}
