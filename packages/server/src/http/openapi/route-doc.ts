/**
 * What a route says about itself for the OpenAPI document: each route module passes a {@link RouteDoc} in the
 * route's options (`app.get(path, { config: { doc } }, handler)`), beside the handler and with the same zod
 * schemas the handler parses, so the document cannot drift from the code. `openapi.test.ts` fails, naming the
 * route, when a registered route has no doc.
 */
import type { z } from 'zod';
import type { ErrorCode } from '@fedweb/codec';
import { grantsOf, ROLES, type Permission, type Role } from '../../auth.js';

/**
 * Who may call a route: `'public'` (no token), `'token'` (any valid token, every role), or the permission its
 * handler checks with `authorize()` (the roles that hold it are read from auth.ts's grants).
 */
export type Access = 'public' | 'token' | Permission;

/** One success (or informational) answer of a route. */
export interface ResponseDoc {
  description: string;
  /** The body's schema (JSON), or omitted for a body described only by `contentType`. */
  schema?: z.ZodType;
  /** Default `application/json`; a binary or text type documents the body as bytes of that type. */
  contentType?: string;
}

/**
 * A route's documentation.
 * @example
 * ```ts
 * const doc: RouteDoc = {
 *   tag: 'sessions', summary: 'Read a session', access: 'read', params: IdParam,
 *   responses: { 200: { description: 'the session, its rounds and metrics', schema: SessionDetailSchema } },
 *   errors: ['NOT_FOUND'],
 * };
 * app.get('/api/sessions/:id', { config: { doc } }, handler);
 * ```
 */
export interface RouteDoc {
  /** Groups operations on the docs page (`sessions`, `models`, ...). */
  tag: string;
  /** One line. */
  summary: string;
  /** More, in Markdown (the required role is appended from `access`). */
  description?: string;
  access: Access;
  /** The token's `sub` must be the client id (or combiner id) the request names, except for admins. */
  ownId?: 'client' | 'combiner';
  /** `:name` path parameters (a zod object; the handler parses `req.params` with it). */
  params?: z.ZodObject;
  /** Query parameters (a zod object; the handler parses `req.query` with it). */
  query?: z.ZodObject;
  /** The JSON request body. */
  body?: z.ZodType;
  /** Success answers by HTTP status (`101` for a WebSocket upgrade, `304` for a matching ETag, ...). */
  responses: Record<number, ResponseDoc>;
  /**
   * Error codes this route answers beyond those its access and inputs imply (401/403 from `access`, 400
   * `BAD_CONFIG` from params/query/body, 413/415 from a body), e.g. `['NOT_FOUND']`.
   */
  errors?: ErrorCode[];
  /** The error body when it is not the API's `{ kind: 'error', code, message }` (the simulation's routes). */
  errorSchema?: z.ZodType;
  /** A WebSocket endpoint: documented as its `GET` upgrade; the messages are the codec's. */
  websocket?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's OpenAPI documentation (http/openapi/route-doc.ts). */
    doc?: RouteDoc;
  }
}

/**
 * The doc of a public HTML page (the dashboard, the landing page, `/docs`).
 * @example
 * ```ts
 * app.get('/dashboard', { config: { doc: htmlPageDoc('The dashboard (HTML)', 'Reads the API with a token.') } }, send);
 * ```
 */
export function htmlPageDoc(summary: string, description: string, tag = 'pages'): RouteDoc {
  return { tag, summary, description, access: 'public', responses: { 200: { description: 'the page', contentType: 'text/html' } } };
}

/**
 * The roles that may call a route with this access (`[]` for public routes: no token at all).
 * @example
 * ```ts
 * rolesFor('operate') // ['admin', 'operator']
 * ```
 */
export function rolesFor(access: Access): Role[] {
  if (access === 'public') return [];
  if (access === 'token') return [...ROLES];
  return ROLES.filter((r) => grantsOf(r).has(access));
}

/**
 * The sentence the docs page shows about who may call a route.
 * @example
 * ```ts
 * roleSentence({ access: 'read' }) // 'Requires a bearer token whose role grants `read`: admin, operator, viewer. With auth off ...'
 * ```
 */
export function roleSentence(doc: Pick<RouteDoc, 'access' | 'ownId'>): string {
  if (doc.access === 'public') return 'Public: no token needed.';
  const who = doc.access === 'token' ? 'Requires a bearer token of any role.' : `Requires a bearer token whose role grants \`${doc.access}\`: ${rolesFor(doc.access).join(', ')}.`;
  const own = doc.ownId ? ` A ${doc.ownId} token acts only as the ${doc.ownId} id its \`sub\` names (admins may act as any).` : '';
  return `${who}${own} With auth off every caller is an anonymous admin.`;
}
