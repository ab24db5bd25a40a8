/**
 * The REST API's request schemas (zod), in a module of their own with no server dependency, so the routes,
 * the typed API client and documentation generators read one definition.
 */
import { z } from 'zod';
import { CapabilitiesSchema, fedError, Sha256HexSchema, type ErrorCode } from '@fedweb/codec';
import { SessionConfigSchema } from '../config.js';

/**
 * Body of `POST /api/sessions`: the session config plus an optional id.
 * @example
 * ```ts
 * StartSessionSchema.parse({ id: 'mnist-1', rounds: 3 });
 * ```
 */
export const StartSessionSchema = SessionConfigSchema.extend({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'session ids use letters, digits, _ and -')
    .optional(),
});

/**
 * Body of `POST /api/packages`: JSON with base64 bytes.
 * @example
 * ```ts
 * await api(url, '/api/packages', { body: { manifest, bundle: b64(bundle), seedModel: b64(seed) }, token });
 * ```
 */
export const PackageUploadSchema = z.object({
  manifest: z.unknown(),
  /** The ES module bundle, base64. */
  bundle: z.string().min(1),
  /** The seed model (f32 frame of the initial weights), base64. */
  seedModel: z.string().min(1),
  /** Make it the active package (default true). */
  activate: z.boolean().default(true),
});

/** Body of `POST /api/discover`. */
export const DiscoverSchema = z.object({
  clientId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:@-]+$/, 'ids use letters, digits and . _ : @ -'),
  capabilities: CapabilitiesSchema.optional(),
});
/** `:id` of sessions, models and clients. */
export const IdParam = z.object({ id: z.string().min(1).max(128) });
/** `:sha256` of blobs and packages. */
export const ShaParam = z.object({ sha256: Sha256HexSchema });
/**
 * Query of `GET /api/clients`: a page of at most `limit` clients (default 100, at most 1000) with ids after `after`.
 * @example
 * ```ts
 * ClientsQuery.parse({ limit: '50', after: 'kiosk-17' }); // { limit: 50, after: 'kiosk-17' }
 * ```
 */
export const ClientsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().max(128).optional(),
  token: z.string().optional(),
});
/** Query of `GET /api/models`. */
export const ModelsQuery = z.object({ sessionId: z.string().max(128).optional(), token: z.string().optional() });

/**
 * Body of `POST /api/sessions/:id/rollback`: the model of the session's trail its next round starts from.
 * @example
 * ```ts
 * RollbackSchema.parse({ modelId: 'mnist-1.m2' });
 * ```
 */
export const RollbackSchema = z.object({ modelId: z.string().min(1).max(128) }).strict();

/**
 * The operator actions the audit log records (`GET /api/audit?action=`).
 * @example
 * ```ts
 * AUDIT_ACTIONS.includes('session.rollback') // true
 * ```
 */
export const AUDIT_ACTIONS = ['session.start', 'session.pause', 'session.resume', 'session.stop', 'session.rollback', 'package.upload', 'package.activate', 'token.issue'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** A time as epoch ms (digits) or an ISO 8601 date (`2026-12-03T08:00:00Z`). */
const EpochOrIso = z
  .string()
  .max(64)
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)))
  .refine((n) => Number.isFinite(n), 'epoch ms or an ISO 8601 date');

/**
 * Query of `GET /api/audit`: a page of at most `limit` entries (default 100, at most 1000), newest first, older
 * than `cursor` (the `next` of the previous page), of one `action`, at or after `since`.
 * @example
 * ```ts
 * AuditQuery.parse({ limit: '20', action: 'session.start', since: '2026-12-01T00:00:00Z' });
 * ```
 */
export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^[1-9][0-9]{0,15}$/, 'the next of a previous page').optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  since: EpochOrIso.optional(),
  token: z.string().optional(),
});

/**
 * Parses a request part, or throws `code` (default BAD_CONFIG) naming the first field that is wrong.
 * @example
 * ```ts
 * const { id } = parseBody(IdParam, req.params, 'params');
 * parseBody(ComputePackageManifestSchema, manifest, 'manifest', 'PACKAGE_INVALID');
 * ```
 */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown, what: string, code: ErrorCode = 'BAD_CONFIG'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw fedError(code, `${what}${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message ?? 'invalid'}`);
}
