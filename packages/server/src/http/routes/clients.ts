/**
 * Clients: `/api/discover` (which combiner a client dials, chosen by the discovery policy) and `/api/clients`
 * (every client seen, online or not, with its combiner and capabilities).
 */
import type { FastifyInstance } from 'fastify';
import { authorize, authorizeClientId } from '../../auth.js';
import type { ClientSeenRecord } from '../../store/types.js';
import { principalOf, wsUrlFor } from '../plumbing.js';
import { DiscoverSchema, parseBody as parse } from '../schemas.js';
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

  app.post('/api/discover', async (req) => {
    const body = parse(DiscoverSchema, req.body, 'body');
    const principal = principalOf(req);
    authorize(principal, 'discover');
    if (principal.role === 'client') authorizeClientId(principal, body.clientId);
    const handle = registry.assign(body.clientId);
    return { combinerId: handle.id, url: wsUrlFor(handle.url, req) };
  });

  app.get('/api/clients', async (req) => {
    authorize(principalOf(req), 'read');
    const seen = new Map<string, ClientSeenRecord>((await state.listClients()).map((c) => [c.clientId, c]));
    const live = new Map<string, { combinerId: string; lastSeen: number; connectedAt: number; capabilities: ClientSeenRecord['capabilities'] }>();
    for (const c of registry.list()) for (const info of c.clients.values()) live.set(info.clientId, { combinerId: c.id, ...info });
    const ids = new Set([...seen.keys(), ...live.keys()]);
    const clients = [...ids].sort().map((id) => {
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
      };
    });
    return { clients, online: live.size };
  });
}
