/**
 * Tokens over HTTP: `GET /.well-known/jwks.json` (public: the controller's Ed25519 public key, which external
 * combiners fetch to verify client tokens) and `POST /api/tokens` (admin only: issue a token for a role).
 */
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { fedError } from '@fedweb/codec';
import { authorize, DEFAULT_TOKEN_TTL, issueToken, ROLES, TokenTtlSchema } from '../../auth.js';
import { IssuedTokenSchema } from '../../api-client/responses.js';
import { JWKS_PATH, JwksSchema, publicJwks } from '../../auth-keys.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { actorOf, recordAudit } from '../../controller/audit.js';
import { principalOf } from '../plumbing.js';
import { parseBody } from '../schemas.js';
import type { RouteContext } from './context.js';

/** Body of `POST /api/tokens`: a role, a subject, and an optional lifetime (`'12h'`, `'30d'`, or seconds). */
export const IssueTokenSchema = z.object({
  role: z.enum(ROLES),
  sub: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:@-]+$/, 'subjects use letters, digits and . _ : @ -'),
  ttl: TokenTtlSchema.optional(),
});

/**
 * Registers the JWKS and token routes.
 * @example
 * ```ts
 * registerTokenRoutes(app, routeContext(deps));
 * ```
 */
export function registerTokenRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { signingKey } = ctx;
  const jwksDoc: RouteDoc = {
    tag: 'tokens',
    summary: "The controller's token public key (JWKS)",
    description: 'External combiners verify client tokens with it. 404 when auth is off.',
    access: 'public',
    responses: { 200: { description: 'the Ed25519 public key as a JWK Set', schema: JwksSchema } },
    errors: ['NOT_FOUND'],
  };
  app.get(JWKS_PATH, { config: { doc: jwksDoc } }, async (_req, reply) => {
    if (!signingKey) throw fedError('NOT_FOUND', 'auth is off on this controller: there is no token key');
    return reply.header('Cache-Control', 'public, max-age=300').send(await publicJwks(signingKey));
  });

  const issueDoc: RouteDoc = {
    tag: 'tokens',
    summary: 'Issue a token',
    description: 'A token for a role and subject, signed with the controller\'s key; `ttl` defaults per role (admin 1h, operator 12h, viewer 7d, combiner 365d, client 30d). BAD_CONFIG when auth is off.',
    access: 'issue',
    body: IssueTokenSchema,
    responses: { 201: { description: 'the token and what it says', schema: IssuedTokenSchema } },
  };
  app.post('/api/tokens', { config: { doc: issueDoc } }, async (req, reply) => {
    const who = principalOf(req);
    authorize(who, 'issue');
    if (!signingKey) throw fedError('BAD_CONFIG', 'auth is off on this controller: start it with --secret or --token-key to issue tokens');
    const body = parseBody(IssueTokenSchema, req.body, 'body');
    const token = await issueToken({ key: signingKey, role: body.role, sub: body.sub, expiresIn: body.ttl ?? DEFAULT_TOKEN_TTL[body.role] });
    const exp = decodeJwt(token).exp;
    // The token itself never enters the log: only whom it was issued to, as what, until when.
    await recordAudit({ state: ctx.state, log: req.log }, actorOf(who), 'token.issue', body.sub, { role: body.role, exp });
    return reply.status(201).send({ kind: 'token', token, role: body.role, sub: body.sub, exp });
  });
}
