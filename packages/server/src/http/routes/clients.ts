/**
 * Clients: `/api/discover` (which combiner a client dials, chosen by the discovery policy) and `/api/clients`
 * (clients seen, online or not, with their combiner and capabilities; paginated by id: `?limit=&after=`).
 */
import type { FastifyInstance } from 'fastify';
import { authorize, authorizeClientId } from '../../auth.js';
import { ClientListSchema, DiscoverResponseSchema } from '../../api-client/responses.js';
import type { ClientSeenRecord } from '../../store/types.js';
import { principalOf, wsUrlFor } from '../plumbing.js';
import { ClientsQuery, DiscoverSchema, parseBody as parse } from '../schemas.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import type { RouteContext } from './context.js';

/**
 * Registers the discovery and client routes.
 * @example
 * ```ts
 * registerClientRoutes(app, routeContext(deps));
 * ```
 */
export function registerClientRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { registry, state } = ctx;

  const discoverDoc: RouteDoc = {
    tag: 'clients',
    summary: 'Assign a combiner to a client',
    description: 'The discovery policy picks the combiner; the client then dials `url` (a WebSocket).',
    access: 'discover',
    ownId: 'client',
    body: DiscoverSchema,
    responses: { 200: { description: 'the combiner and the WebSocket URL to dial', schema: DiscoverResponseSchema } },
    errors: ['UNAVAILABLE'],
  };
  app.post('/api/discover', { config: { doc: discoverDoc } }, async (req) => {
    const body = parse(DiscoverSchema, req.body, 'body');
    const principal = principalOf(req);
    authorize(principal, 'discover');
    if (principal.role === 'client') authorizeClientId(principal, body.clientId);
    const handle = registry.assign(body.clientId);
    return { combinerId: handle.id, url: wsUrlFor(handle.url, req) };
  });

  const clientsDoc: RouteDoc = {
    tag: 'clients',
    summary: 'List clients seen (one page)',
    description: 'In id order: `limit` 1..1000 (default 100), `next` is the `after` of the next page (null on the last).',
    access: 'read',
    query: ClientsQuery,
    responses: { 200: { description: 'a page of clients, and how many are online', schema: ClientListSchema } },
  };
  app.get('/api/clients', { config: { doc: clientsDoc } }, async (req) => {
    authorize(principalOf(req), 'read');
    const { limit, after } = parse(ClientsQuery, req.query, 'query');
    // The page is the first `limit` ids after `after` among stored and live clients (one more tells if there is a next).
    const seen = new Map<string, ClientSeenRecord>((await state.listClients({ ...(after ? { after } : {}), limit: limit + 1 })).map((c) => [c.clientId, c]));
    const live = new Map<string, { combinerId: string; lastSeen: number; connectedAt: number; contributedAt?: number; capabilities: ClientSeenRecord['capabilities'] }>();
    const online = new Set<string>();
    for (const c of registry.list()) {
      for (const info of c.clients.values()) {
        online.add(info.clientId);
        if (after === undefined || info.clientId > after) live.set(info.clientId, { combinerId: c.id, ...info });
      }
    }
    const ids = [...new Set([...seen.keys(), ...live.keys()])].sort();
    const page = ids.slice(0, limit);
    const clients = page.map((id) => {
      const s = seen.get(id);
      const l = live.get(id);
      return {
        clientId: id,
        online: !!l,
        combinerId: l?.combinerId ?? null,
        lastCombinerId: l?.combinerId ?? s?.combinerId ?? null,
        firstSeen: s?.firstSeen ?? l?.connectedAt ?? null,
        lastSeen: Math.max(s?.lastSeen ?? 0, l?.lastSeen ?? 0),
        capabilities: l?.capabilities ?? s?.capabilities ?? {},
        contributedAt: s?.contributedAt ?? l?.contributedAt ?? null,
      };
    });
    return { clients, online: online.size, next: ids.length > limit ? (page.at(-1) ?? null) : null };
  });
}
