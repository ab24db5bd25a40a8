/**
 * The docs of the routes server.ts registers itself (liveness and the two WebSocket endpoints), kept here so
 * server.ts stays the wiring it is. The WebSocket messages are the codec's (`packages/codec/src/messages.ts`).
 */
import { HealthResponseSchema } from '../../api-client/responses.js';
import type { RouteDoc } from './route-doc.js';

const SWITCHING = { 101: { description: 'Switching Protocols: the WebSocket is open' } };

/**
 * `GET /healthz`.
 * @example
 * ```ts
 * app.get('/healthz', { config: { doc: HEALTHZ_DOC } }, async () => ({ kind: 'health', role: 'leader' }));
 * ```
 */
export const HEALTHZ_DOC: RouteDoc = {
  tag: 'status',
  summary: 'Liveness',
  description: 'The process answers (a standby too, with `role: standby`); readiness is `/api/status`.',
  access: 'public',
  responses: { 200: { description: 'alive', schema: HealthResponseSchema } },
};

/**
 * `GET /ws/client` (the embedded combiner's client socket).
 * @example
 * ```ts
 * app.get('/ws/client', { websocket: true, config: { doc: WS_CLIENT_DOC } }, handler);
 * ```
 */
export const WS_CLIENT_DOC: RouteDoc = {
  tag: 'websocket',
  summary: 'Client WebSocket (the embedded combiner)',
  description:
    'Where `POST /api/discover` sends a client when the embedded combiner is assigned. After the upgrade the client sends `hello` ' +
    '(`{ v, kind: "hello", clientId, capabilities, token? }`) within the hello timeout (10 s); the answer is `welcome` or ' +
    '`{ kind: "error", code }` (an invalid or foreign token: `UNAUTHORIZED` / `FORBIDDEN`) and the socket closes. ' +
    'The token may also come as `Authorization` or `?token=`.',
  access: 'join',
  ownId: 'client',
  websocket: true,
  responses: SWITCHING,
};

/**
 * `GET /ws/combiner` (external combiners dial in).
 * @example
 * ```ts
 * app.get('/ws/combiner', { websocket: true, config: { doc: WS_COMBINER_DOC } }, handler);
 * ```
 */
export const WS_COMBINER_DOC: RouteDoc = {
  tag: 'websocket',
  summary: 'Combiner link WebSocket',
  description:
    'External combiners (`fedweb combiner`) dial in here and send `combiner.hello` (`{ v, kind: "combiner.hello", combinerId, url }`). ' +
    'With auth on the upgrade itself needs a `combiner` (or `admin`) token; a second link for a connected id is refused with `CONFLICT`.',
  access: 'combine',
  ownId: 'combiner',
  websocket: true,
  responses: SWITCHING,
};
