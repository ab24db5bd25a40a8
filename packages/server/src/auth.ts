/**
 * Minimal JWT auth (HS256 via `jose`). Roles:
 *  - `admin`:    everything;
 *  - `operator`: sessions, packages, combiner registration, reading everything;
 *  - `viewer`:   reading status, sessions, models, clients, combiners;
 *  - `client`:   discovery and joining as itself (`sub` = clientId), downloading models and packages.
 * Without a secret auth is off (dev mode) and the server logs a loud warning.
 */
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';
import { fedError } from '@fedweb/codec';

/**
 * The roles a token may carry.
 * @example
 * ```ts
 * ROLES.includes('viewer') // true
 * ```
 */
export const ROLES = ['admin', 'operator', 'client', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

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

export interface IssueTokenOptions {
  secret: string;
  role: Role;
  sub: string;
  /** jose duration string or seconds, default `'30d'`. */
  expiresIn?: string | number;
}

const key = (secret: string): Uint8Array => {
  if (secret.length < 16) throw fedError('BAD_CONFIG', 'the auth secret must be at least 16 characters');
  return new TextEncoder().encode(secret);
};

/**
 * Issues an HS256 JWT for a role and subject.
 * @example
 * ```ts
 * const token = await issueToken({ secret: process.env.FEDWEB_SECRET!, role: 'client', sub: 'kiosk-17' });
 * ```
 */
export async function issueToken(opts: IssueTokenOptions): Promise<string> {
  if (!ROLES.includes(opts.role)) throw fedError('BAD_CONFIG', `unknown role '${String(opts.role)}' (one of ${ROLES.join(', ')})`);
  return new SignJWT({ role: opts.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.sub)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '30d')
    .sign(key(opts.secret));
}

/**
 * Verifies a token; throws FedError `UNAUTHORIZED` with the reason when it is missing, expired or forged.
 * @example
 * ```ts
 * const { role, sub } = await verifyToken(secret, token);
 * ```
 */
export async function verifyToken(secret: string, token: string | undefined | null): Promise<Principal> {
  if (!token) throw fedError('UNAUTHORIZED', 'a bearer token is required (auth is on)');
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], issuer: ISSUER });
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) throw fedError('UNAUTHORIZED', 'token claims are invalid (role, sub)');
    return claims.data;
  } catch (e) {
    if (e instanceof Error && e.name === 'FedError') throw e;
    throw fedError('UNAUTHORIZED', `invalid token: ${(e as Error).message}`);
  }
}

/** The permissions checked by routes and sockets. */
export type Permission = 'read' | 'operate' | 'discover' | 'download' | 'join' | 'combine';

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(['read', 'operate', 'discover', 'download', 'join', 'combine']),
  operator: new Set(['read', 'operate', 'discover', 'download', 'join', 'combine']),
  viewer: new Set(['read', 'download']),
  client: new Set(['discover', 'download', 'join']),
};

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
 * A client token may only act as its own client id; operators and admins may act as any.
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

/** An auth checker bound to a secret, or a pass-through when auth is off. */
export interface Authenticator {
  readonly enabled: boolean;
  verify(token: string | undefined | null): Promise<Principal>;
}

/**
 * @example
 * ```ts
 * const auth = createAuthenticator(opts.secret); // undefined secret => auth off
 * const principal = await auth.verify(bearer);
 * ```
 */
export function createAuthenticator(secret: string | undefined): Authenticator {
  if (!secret) return { enabled: false, verify: async () => ANONYMOUS_ADMIN };
  key(secret);
  return { enabled: true, verify: (token) => verifyToken(secret, token) };
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
