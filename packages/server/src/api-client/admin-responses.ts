/**
 * The zod schemas of the admin-only answers (the audit log) and of the public key set: what the typed client
 * checks every such response against (the rest are in responses.ts).
 */
import { z } from 'zod';

const time = z.number().finite();

/**
 * One audit entry: who (`actor`, `role`; `anonymous` with auth off, `local` for the server itself), what
 * (`action` on `target`, `detail`), when (`at`, epoch ms).
 * @example
 * ```ts
 * AuditEntrySchema.parse({ id: 7, at: 1700000000000, actor: 'ops', role: 'operator', action: 'session.stop', target: 's1', detail: {} });
 * ```
 */
export const AuditEntrySchema = z
  .object({ id: z.number().int().positive(), at: time, actor: z.string().min(1).max(256), role: z.string().max(32).nullable(), action: z.string().min(1).max(64), target: z.string().max(256).nullable(), detail: z.record(z.string(), z.unknown()) })
  .loose();
export type AuditEntryView = z.infer<typeof AuditEntrySchema>;

/**
 * `GET /api/audit`: a page of entries, newest first; `next` is the `cursor` of the following page (null on the last).
 * @example
 * ```ts
 * const { entries, next } = AuditPageSchema.parse(await res.json());
 * ```
 */
export const AuditPageSchema = z.object({ entries: z.array(AuditEntrySchema), next: z.string().max(32).nullable() }).loose();
export type AuditPage = z.infer<typeof AuditPageSchema>;

/**
 * `GET /.well-known/jwks.json`: the controller's public key(s).
 * @example
 * ```ts
 * JwksSchema.parse({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '...', kid: 'k1' }] });
 * ```
 */
export const JwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())).max(16) }).loose();
export type Jwks = z.infer<typeof JwksSchema>;

/**
 * `GET /api/contributions`: updates counted per client id by the server's embedded combiner since it started.
 * @example
 * ```ts
 * ContributionsSchema.parse({ contributions: { 'kiosk-1': 3 } }).contributions['kiosk-1']; // 3
 * ```
 */
export const ContributionsSchema = z.object({ contributions: z.record(z.string(), z.number().int().nonnegative()) }).loose();
