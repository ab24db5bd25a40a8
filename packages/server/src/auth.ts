/**
 * JWT auth (EdDSA / Ed25519 via `jose`; the key pair lives in auth-keys.ts). Roles and their grants (the README's
 * "Threat model: principals, roles and tokens" has the role x endpoint matrix):
 *  - `admin`:    everything, and alone issues tokens (`POST /api/tokens`) and reads the audit log (`GET /api/audit`);
 *  - `operator`: sessions and packages, reading everything, downloading models and packages;
 *  - `viewer`:   reading status, sessions, models, clients, combiners;
 *  - `combiner`: registering as the combiner its `sub` names (`/ws/combiner`), downloading models and packages;
 *  - `client`:   discovery and joining as itself (`sub` = clientId), downloading models and packages.
 * Only the controller (and `fedweb token`) holds the private key; combiners verify with the public key. Every
 * token carries `exp`; a token without one, or signed with anything but the controller's Ed25519 key (an HS256
 * token of older versions included), is refused. Without a key auth is off (dev mode) and the server warns.
 */
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import { z } from 'zod';
import { fedError, isFedError } from '@fedweb/codec';
import { deriveSigningKey, type SigningKey, type VerifyKey } from './auth-keys.js';

/**
 * The roles a token may carry.
 * @example
 * ```ts
 * ROLES.includes('viewer') // true
 * ```
 */
export const ROLES = ['admin', 'operator', 'viewer', 'combiner', 'client'] as const;
export type Role = (typeof ROLES)[number];

/**
 * How long a token lives when `fedweb token` / {@link issueToken} is given no TTL: short for the roles that can
 * change the federation, long for the machines that run unattended.
 */
export const DEFAULT_TOKEN_TTL: Readonly<Record<Role, string>> = { admin: '1h', operator: '12h', viewer: '7d', combiner: '365d', client: '30d' };

/** What a verified token says. */
export interface Principal {
  role: Role;
  sub: string;
}

/**
 * The principal used when auth is off: every call is allowed.
 * @example
 * ```ts
 * const principal = auth.enabled ? await auth.verify(token) : ANONYMOUS_ADMIN;
 * ```
 */
export const ANONYMOUS_ADMIN: Principal = { role: 'admin', sub: 'anonymous' };

const ClaimsSchema = z.object({ role: z.enum(ROLES), sub: z.string().min(1).max(128) });
const ISSUER = 'fedweb';

/**
 * A token lifetime as `fedweb token --ttl` and `POST /api/tokens` accept it: seconds, or a number and a unit.
 * @example
 * ```ts
 * TokenTtlSchema.parse('12h'); // '12h'
 * ```
 */
export const TokenTtlSchema = z.union([
  z.number().int().positive().max(10 * 365 * 86400),
  z.string().regex(/^[1-9][0-9]{0,5}\s*(s|m|h|d|w)$/, "a duration like '90s', '15m', '12h', '30d', '2w'"),
]);

/**
 * Parses a lifetime typed by a person (`'12h'`, or digits for seconds); throws BAD_CONFIG naming `what`.
 * @example
 * ```ts
 * parseTokenTtl('90', '--ttl') // 90
 * ```
 */
export function parseTokenTtl(text: string, what: string): string | number {
  const r = TokenTtlSchema.safeParse(/^\d+$/.test(text) ? Number(text) : text);
  if (!r.success) throw fedError('BAD_CONFIG', `${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export interface IssueTokenOptions {
  /** The auth secret (the key is derived from it), unless `key` is given. */
  secret?: string;
  /** The signing key (see `deriveSigningKey`, `loadSigningKey`). */
  key?: SigningKey;
  role: Role;
  sub: string;
  /** Lifetime: a jose duration string (`'12h'`, `'30d'`) or seconds. Default {@link DEFAULT_TOKEN_TTL} of the role. */
  expiresIn?: string | number;
}

/**
 * Issues an EdDSA JWT for a role and subject; it always carries `exp`.
 * @example
 * ```ts
 * const token = await issueToken({ secret: process.env.FEDWEB_SECRET!, role: 'client', sub: 'kiosk-17' });
 * ```
 */
export async function issueToken(opts: IssueTokenOptions): Promise<string> {
  if (!ROLES.includes(opts.role)) throw fedError('BAD_CONFIG', `unknown role '${String(opts.role)}' (one of ${ROLES.join(', ')})`);
  if (!ClaimsSchema.shape.sub.safeParse(opts.sub).success) throw fedError('BAD_CONFIG', 'sub must be 1..128 characters');
  const key = opts.key ?? (opts.secret !== undefined ? await deriveSigningKey(opts.secret) : undefined);
  if (!key) throw fedError('BAD_CONFIG', 'issuing a token needs the secret or the signing key');
  const ttl = opts.expiresIn ?? DEFAULT_TOKEN_TTL[opts.role];
  if (typeof ttl === 'number' && !(Number.isFinite(ttl) && ttl > 0)) throw fedError('BAD_CONFIG', `the token lifetime must be positive, got ${ttl}`);
  try {
    return await new SignJWT({ role: opts.role })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: key.kid })
      .setSubject(opts.sub)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(typeof ttl === 'number' ? Math.floor(Date.now() / 1000) + Math.ceil(ttl) : ttl)
      .sign(key.privateKey);
  } catch (e) {
    throw fedError('BAD_CONFIG', `cannot issue the token: ${(e as Error).message}`);
  }
}

export interface VerifyOptions {
  /** Accept tokens without `exp` (they never expire). Default false. */
  allowTokensWithoutExp?: boolean;
}

/**
 * Verifies a token; throws FedError `UNAUTHORIZED` with the reason when it is missing, expired, has no `exp`,
 * or is not signed by the controller's Ed25519 key.
 * @example
 * ```ts
 * const { role, sub } = await verifyToken(verifyKey, token);
 * ```
 */
export async function verifyToken(verifyKey: VerifyKey, token: string | undefined | null, opts: VerifyOptions = {}): Promise<Principal> {
  if (!token) throw fedError('UNAUTHORIZED', 'a bearer token is required (auth is on)');
  try {
    const alg = decodeProtectedHeader(token).alg;
    if (alg !== 'EdDSA') throw fedError('UNAUTHORIZED', `tokens signed with '${String(alg)}' are refused (only EdDSA); issue a new one with 'fedweb token'`);
    const { payload } = await jwtVerify(token, verifyKey, { algorithms: ['EdDSA'], issuer: ISSUER, clockTolerance: 30, ...(opts.allowTokensWithoutExp ? {} : { requiredClaims: ['exp'] }) });
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) throw fedError('UNAUTHORIZED', 'token claims are invalid (role, sub)');
    return claims.data;
  } catch (e) {
    if (isFedError(e)) throw e;
    throw fedError('UNAUTHORIZED', `invalid token: ${(e as Error).message}`);
  }
}

/** The permissions checked by routes and sockets. */
export type Permission = 'read' | 'operate' | 'discover' | 'download' | 'join' | 'combine' | 'issue' | 'audit';

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(['read', 'operate', 'discover', 'download', 'join', 'combine', 'issue', 'audit']),
  operator: new Set(['read', 'operate', 'download']),
  viewer: new Set(['read', 'download']),
  combiner: new Set(['download', 'combine']),
  client: new Set(['discover', 'download', 'join']),
};

/**
 * The permissions of a role (the README's matrix is written from this).
 * @example
 * ```ts
 * grantsOf('operator').has('issue') // false
 * ```
 */
export function grantsOf(role: Role): ReadonlySet<Permission> {
  return GRANTS[role];
}

/**
 * Throws FORBIDDEN unless the principal's role grants the permission.
 * @example
 * ```ts
 * authorize(principal, 'operate'); // starting a session
 * ```
 */
export function authorize(principal: Principal, permission: Permission): void {
  if (!GRANTS[principal.role].has(permission)) {
    throw fedError('FORBIDDEN', `role '${principal.role}' may not ${permission}`);
  }
}

/**
 * A client token may only act as its own client id; admins may act as any.
 * @example
 * ```ts
 * authorizeClientId(principal, hello.clientId);
 * ```
 */
export function authorizeClientId(principal: Principal, clientId: string): void {
  authorize(principal, 'join');
  if (principal.role === 'client' && principal.sub !== clientId) {
    throw fedError('FORBIDDEN', `a client token for '${principal.sub}' cannot act as '${clientId}'`);
  }
}

/**
 * A combiner token may only register the combiner id its `sub` names; admins may register any.
 * @example
 * ```ts
 * authorizeCombinerId(principal, hello.combinerId);
 * ```
 */
export function authorizeCombinerId(principal: Principal, combinerId: string): void {
  authorize(principal, 'combine');
  if (principal.role === 'combiner' && principal.sub !== combinerId) {
    throw fedError('FORBIDDEN', `a combiner token for '${principal.sub}' cannot register as '${combinerId}'`);
  }
}

/** An auth checker bound to a public key, or a pass-through when auth is off. */
export interface Authenticator {
  readonly enabled: boolean;
  verify(token: string | undefined | null): Promise<Principal>;
}

/**
 * @example
 * ```ts
 * const auth = createAuthenticator({ verifyKey: await verifyKeyOf(signingKey) }); // undefined => auth off
 * const principal = await auth.verify(bearer);
 * ```
 */
export function createAuthenticator(opts: ({ verifyKey: VerifyKey } & VerifyOptions) | undefined): Authenticator {
  if (!opts) return { enabled: false, verify: async () => ANONYMOUS_ADMIN };
  return { enabled: true, verify: (token) => verifyToken(opts.verifyKey, token, opts) };
}

/**
 * Extracts a bearer token from an `Authorization` header value.
 * @example
 * ```ts
 * bearerToken('Bearer abc.def.ghi') // 'abc.def.ghi'
 * ```
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1];
}
