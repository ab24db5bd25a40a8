/**
 * `GET /api/audit` (admin only): the audit log of operator actions (who, what, when), newest first, a page at a
 * time (`limit`, `cursor` = the previous page's `next`), filtered by `action` and `since`. The entries are
 * written by the routes that act (controller/audit.ts).
 */
import type { FastifyInstance } from 'fastify';
import { AuditPageSchema } from '../../api-client/admin-responses.js';
import { authorize } from '../../auth.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { principalOf } from '../plumbing.js';
import { AuditQuery, parseBody } from '../schemas.js';
import type { RouteContext } from './context.js';

/**
 * Registers the audit route.
 * @example
 * ```ts
 * registerAuditRoutes(app, routeContext(deps));
 * ```
 */
export function registerAuditRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const doc: RouteDoc = {
    tag: 'audit',
    summary: 'Read the audit log',
    description: 'Operator actions (session start/pause/resume/stop/rollback, package upload and activation, token issue): who, what, when. Newest first; `cursor` is the previous page\'s `next`.',
    access: 'audit',
    query: AuditQuery,
    responses: { 200: { description: 'a page of entries', schema: AuditPageSchema } },
  };
  app.get('/api/audit', { config: { doc } }, async (req) => {
    authorize(principalOf(req), 'audit');
    const q = parseBody(AuditQuery, req.query, 'query');
    const entries = await ctx.state.listAudit({
      limit: q.limit,
      ...(q.cursor !== undefined ? { before: Number(q.cursor) } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(q.since !== undefined ? { since: q.since } : {}),
    });
    const last = entries.at(-1);
    return { entries, next: entries.length === q.limit && last ? String(last.id) : null };
  });
}
