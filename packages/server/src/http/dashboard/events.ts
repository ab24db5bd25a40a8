/**
 * `GET /api/events`: the dashboard's live feed as Server-Sent Events (any role that may `read`; the token comes
 * in the `Authorization` header: the page reads the stream with `fetch`, so no token is ever put in a URL).
 *
 * Events (each `data:` is JSON):
 *  - `hello`    on connect: `{ role, canOperate, auth, ledger }` (the round ledger of this process, ledger.ts);
 *  - `session`  a session changed status or progress (the seed hidden from those who may not operate);
 *  - `round`    a round reached its final status: `{ round, row }` (its record and its ledger row);
 *  - `model`    a model joined the trail;
 *  - `live`     clients online, combiners and the live round phase, pushed when they change (checked each second).
 * A comment line every 15 s keeps proxies from closing an idle stream.
 */
import type { FastifyInstance } from 'fastify';
import { fedError } from '@fedweb/codec';
import { authorize, grantsOf } from '../../auth.js';
import type { ModelRecord, SessionRecord } from '../../store/types.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { principalOf } from '../plumbing.js';
import type { RouteContext } from '../routes/context.js';
import { modelView } from '../routes/models.js';
import { sessionFor } from '../routes/sessions.js';
import type { RoundLedger } from './ledger.js';

/** Streams open at once, over all viewers; more are refused with 503 UNAVAILABLE. */
export const MAX_EVENT_STREAMS = 64;
/** A stream whose client reads slower than this backlog is dropped (it reconnects and starts afresh). */
const MAX_BACKLOG_BYTES = 1024 * 1024;

/**
 * The live state the `live` event carries.
 * @example
 * ```ts
 * liveState(ctx) // { clientsOnline: 3, combiners: [{ id: 'embedded', clients: 3 }], live: [...] }
 * ```
 */
export function liveState(ctx: Pick<RouteContext, 'registry' | 'controller'>) {
  const combiners = ctx.registry.list().map((c) => ({ id: c.id, clients: c.clients.size, embedded: c.embedded }));
  return { clientsOnline: combiners.reduce((n, c) => n + c.clients, 0), combiners, live: ctx.controller.liveRounds() };
}

/**
 * Registers `GET /api/events`.
 * @example
 * ```ts
 * registerEventStream(app, ctx, new RoundLedger({ controller, registry, state, metrics }));
 * ```
 */
export function registerEventStream(app: FastifyInstance, ctx: RouteContext, ledger: RoundLedger): void {
  let open = 0;
  const doc: RouteDoc = {
    tag: 'sessions',
    summary: 'Follow the server live (Server-Sent Events)',
    description: 'Events `hello` `{ role, canOperate, auth, ledger }`, `session`, `round` `{ round, row }`, `model`, `live` `{ clientsOnline, combiners, live }`, each `data:` a JSON object. At most 64 streams at once.',
    access: 'read',
    responses: { 200: { description: 'the event stream', contentType: 'text/event-stream' } },
    errors: ['UNAVAILABLE'],
  };
  app.get('/api/events', { config: { doc } }, async (req, reply) => {
    const who = principalOf(req);
    authorize(who, 'read');
    if (open >= MAX_EVENT_STREAMS) throw fedError('UNAVAILABLE', `${MAX_EVENT_STREAMS} event streams are open; try again later`);
    open += 1;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    const cleanups: Array<() => void> = [];
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      open -= 1;
      for (const c of cleanups) c();
      res.end();
    };
    const write = (text: string): void => {
      if (closed) return;
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        req.log.info({}, 'event stream dropped: its reader is too slow');
        res.destroy();
        return close();
      }
      res.write(text);
    };
    const send = (event: string, data: unknown): void => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const on = <T>(event: 'session' | 'model', fn: (payload: T) => void): void => {
      ctx.controller.on(event, fn);
      cleanups.push(() => ctx.controller.off(event, fn));
    };

    send('hello', { role: who.role, canOperate: grantsOf(who.role).has('operate'), auth: ctx.authEnabled, ledger: ledger.list() });
    on<SessionRecord>('session', (s) => send('session', sessionFor(who, s)));
    on<ModelRecord>('model', (m) => send('model', modelView(m)));
    cleanups.push(ledger.listen((row, round) => send('round', { round, row })));
    let lastLive = '';
    const tick = (): void => {
      const live = JSON.stringify(liveState(ctx));
      if (live !== lastLive) write(`event: live\ndata: ${live}\n\n`);
      lastLive = live;
    };
    tick();
    const liveTimer = setInterval(tick, 1000);
    const pingTimer = setInterval(() => write(': ping\n\n'), 15_000);
    cleanups.push(() => clearInterval(liveTimer), () => clearInterval(pingTimer));
    res.on('close', close);
    res.on('error', close);
  });
}
