/**
 * Response schemas of the REST API, as the typed client checks them: a server's bytes are untrusted, so
 * every body is parsed before a caller sees it. Objects are `loose` (a newer server may add fields) but every
 * field a caller reads is typed and bounded. Browser-safe: zod and the codec only.
 */
import { z } from 'zod';
import { CapabilitiesSchema, ComputePackageManifestSchema, ERROR_CODE_NAMES, Sha256HexSchema } from '@fedweb/codec';
import { SessionConfigSchema } from '../config.js';

const id = z.string().min(1).max(256);
const sha256 = Sha256HexSchema;
const time = z.number().finite();
const count = z.number().int().min(0);
const metrics = z.record(z.string().max(256), z.number());
const url = z.string().min(1).max(4096);

/**
 * `POST /api/discover`: the combiner a client was assigned and its WebSocket URL.
 * @example
 * ```ts
 * DiscoverResponseSchema.parse({ combinerId: 'c1', url: 'ws://127.0.0.1:8080/ws/client' });
 * ```
 */
export const DiscoverResponseSchema = z.object({ combinerId: id, url }).loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const { url }: DiscoverResponse = await api.discover('kiosk-1');
 * ```
 */
export type DiscoverResponse = z.infer<typeof DiscoverResponseSchema>;

/**
 * A round in progress (`/api/status`'s `live`, `GET /api/sessions/:id`'s `live`).
 * @example
 * ```ts
 * LiveRoundSchema.parse({ roundId: 'r1', round: 1, phase: 'training', combiners: ['c1'], selected: 2, deadline: null });
 * ```
 */
export const LiveRoundSchema = z
  .object({
    sessionId: id.optional(),
    roundId: id,
    round: count,
    phase: z.enum(['waiting', 'training', 'reducing', 'validating']),
    combiners: z.array(id),
    selected: count,
    deadline: time.nullable(),
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const live: LiveRoundView | undefined = (await api.status()).live[0];
 * ```
 */
export type LiveRoundView = z.infer<typeof LiveRoundSchema>;

/**
 * `GET /api/status`.
 * @example
 * ```ts
 * const { clientsOnline, activeSession } = StatusResponseSchema.parse(body);
 * ```
 */
export const StatusResponseSchema = z
  .object({
    kind: z.literal('status'),
    version: z.string().max(64),
    auth: z.boolean(),
    uptimeS: z.number().min(0),
    combiners: count,
    clientsOnline: count,
    activeSession: z
      .object({ id, name: z.string().max(200).nullable(), status: z.string().max(32), completedRounds: count, rounds: count, currentModelId: id })
      .loose()
      .nullable(),
    live: z.array(LiveRoundSchema),
    package: z.object({ sha256, name: z.string().max(256), version: z.string().max(64) }).loose().nullable(),
    strategies: z.array(z.unknown()),
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const s: StatusResponse = await api.status();
 * ```
 */
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

/**
 * A session as the API returns it (the server's `SessionRecord`). `config.seed` is absent for callers that may not
 * operate sessions (viewers): the server does not show them its sampling seed.
 * @example
 * ```ts
 * const s: SessionView = SessionViewSchema.parse(body.session);
 * ```
 */
export const SessionViewSchema = z
  .object({
    id,
    name: z.string().max(200).nullable(),
    status: z.enum(['running', 'paused', 'completed', 'stopped', 'failed']),
    config: SessionConfigSchema.extend({ seed: SessionConfigSchema.shape.seed.unwrap().optional() }).loose(),
    packageSha: sha256,
    initialModelId: id,
    currentModelId: id,
    completedRounds: count,
    error: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const s: SessionView = await api.startSession({ rounds: 3 });
 * ```
 */
export type SessionView = z.infer<typeof SessionViewSchema>;

/**
 * A round of the trail (the server's `RoundRecord`).
 * @example
 * ```ts
 * const committed = detail.rounds.filter((r: RoundView) => r.status === 'committed');
 * ```
 */
export const RoundViewSchema = z
  .object({
    id,
    sessionId: id,
    round: count,
    status: z.enum(['preparing', 'training', 'reducing', 'validating', 'committed', 'failed', 'interrupted', 'aborted']),
    startedAt: time,
    deadline: time.nullable(),
    lastUpdateAt: time.nullable(),
    committedAt: time.nullable(),
    modelId: id.nullable(),
    updates: count,
    weight: z.number().min(0),
    combiners: z.array(id),
    partials: z.array(
      z
        .object({ combinerId: id, count, weight: z.number().min(0), refusedStale: count, refused: count, firstUpdateAt: time.optional(), lastUpdateAt: time.optional(), receivedAt: time })
        .loose(),
    ),
    trainMetrics: metrics,
    validationMetrics: metrics,
    timings: z.record(z.string().max(64), z.number()),
    reason: z.string().nullable(),
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const rounds: RoundView[] = (await api.getSession('s1')).rounds;
 * ```
 */
export type RoundView = z.infer<typeof RoundViewSchema>;

/**
 * `GET /api/sessions/:id`: the session, its rounds, the live round and its metric rows.
 * @example
 * ```ts
 * const { session, rounds } = SessionDetailSchema.parse(body);
 * ```
 */
export const SessionDetailSchema = z
  .object({
    session: SessionViewSchema,
    rounds: z.array(RoundViewSchema),
    live: LiveRoundSchema.nullable(),
    metrics: z.array(z.object({ round: count, scope: z.enum(['train', 'validate', 'server']), name: z.string().max(256), value: z.number() }).loose()),
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const d: SessionDetail = await api.getSession('s1');
 * ```
 */
export type SessionDetail = z.infer<typeof SessionDetailSchema>;

/**
 * A model of the trail (`GET /api/models`): where to download it, never where the server stores it.
 * @example
 * ```ts
 * const last = models.at(-1) as ModelView;
 * ```
 */
export const ModelViewSchema = z
  .object({ id, parentId: id.nullable(), sessionId: id.nullable(), round: count, sha256, bytes: count, url, metrics, createdAt: time })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const trail: ModelView[] = await api.listModels('s1');
 * ```
 */
export type ModelView = z.infer<typeof ModelViewSchema>;

const BlobRefViewSchema = z.object({ id, sha256, url, bytes: count }).loose();

/**
 * A compute package (`POST /api/packages`, `GET /api/packages/active`).
 * @example
 * ```ts
 * const { sha256, bundle, seedModel } = PackageViewSchema.parse(body.package);
 * ```
 */
export const PackageViewSchema = z
  .object({
    sha256,
    name: z.string().max(256),
    version: z.string().max(64),
    manifest: ComputePackageManifestSchema.loose(),
    active: z.boolean(),
    createdAt: time,
    bundle: BlobRefViewSchema,
    seedModel: BlobRefViewSchema.nullable(),
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const p: PackageView = await api.activePackage();
 * ```
 */
export type PackageView = z.infer<typeof PackageViewSchema>;

/**
 * A client the controller has seen (`GET /api/clients`).
 * @example
 * ```ts
 * const online = clients.filter((c: ClientView) => c.online);
 * ```
 */
export const ClientViewSchema = z
  .object({
    clientId: id,
    online: z.boolean(),
    combinerId: id.nullable(),
    lastCombinerId: id.nullable(),
    firstSeen: time.nullable(),
    lastSeen: time,
    capabilities: CapabilitiesSchema.loose(),
    /** When an update of this client was first counted (null: never; such ids are garbage-collected). */
    contributedAt: time.nullable().optional(),
  })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const { clients }: { clients: ClientView[] } = await api.listClients();
 * ```
 */
export type ClientView = z.infer<typeof ClientViewSchema>;

/**
 * A combiner registered with the controller (`GET /api/combiners`).
 * @example
 * ```ts
 * const embedded = combiners.find((c: CombinerView) => c.embedded);
 * ```
 */
export const CombinerViewSchema = z
  .object({ combinerId: id, url, embedded: z.boolean(), clients: count, connectedAt: time, lastStatusAt: time.nullable() })
  .loose();
/**
 * The parsed (typed) form of the schema above.
 * @example
 * ```ts
 * const combiners: CombinerView[] = await api.listCombiners();
 * ```
 */
export type CombinerView = z.infer<typeof CombinerViewSchema>;

/**
 * `{ session }` bodies (start, pause, resume, stop).
 * @example
 * ```ts
 * SessionEnvelopeSchema.parse(body).session.status;
 * ```
 */
export const SessionEnvelopeSchema = z.object({ session: SessionViewSchema }).loose();
/**
 * `{ sessions }` of `GET /api/sessions`.
 * @example
 * ```ts
 * SessionListSchema.parse(body).sessions.length;
 * ```
 */
export const SessionListSchema = z.object({ sessions: z.array(SessionViewSchema) }).loose();
/**
 * `{ models }` of `GET /api/models`.
 * @example
 * ```ts
 * ModelListSchema.parse(body).models.at(-1)?.id;
 * ```
 */
export const ModelListSchema = z.object({ models: z.array(ModelViewSchema) }).loose();
/**
 * `{ package }` of the package routes.
 * @example
 * ```ts
 * PackageEnvelopeSchema.parse(body).package.sha256;
 * ```
 */
export const PackageEnvelopeSchema = z.object({ package: PackageViewSchema }).loose();
/**
 * `{ clients, online, next }` of `GET /api/clients`: one page; `next` is the `after` of the next page (null: last).
 * @example
 * ```ts
 * ClientListSchema.parse(body).online;
 * ```
 */
export const ClientListSchema = z.object({ clients: z.array(ClientViewSchema), online: count, next: id.nullable().default(null) }).loose();
/**
 * `{ combiners }` of `GET /api/combiners`.
 * @example
 * ```ts
 * CombinerListSchema.parse(body).combiners.length;
 * ```
 */
export const CombinerListSchema = z.object({ combiners: z.array(CombinerViewSchema) }).loose();

/**
 * `POST /api/tokens`: the issued token and what it says.
 * @example
 * ```ts
 * IssuedTokenSchema.parse(body).token;
 * ```
 */
export const IssuedTokenSchema = z.object({ kind: z.literal('token'), token: z.string().min(1), role: z.string(), sub: z.string(), exp: z.number().int() }).loose();
export type IssuedToken = z.infer<typeof IssuedTokenSchema>;

/**
 * Every REST error: `{ kind: 'error', code, message }`, with the HTTP status of `code` in the codec's error table.
 * @example
 * ```ts
 * ApiErrorSchema.parse({ kind: 'error', code: 'NOT_FOUND', message: 'no model m1' });
 * ```
 */
export const ApiErrorSchema = z.object({ kind: z.literal('error'), code: z.enum(ERROR_CODE_NAMES), message: z.string().max(64 * 1024) }).loose();
/**
 * `GET /healthz`: the process answers (`role`: `leader`, `standby`, or a combiner's own health).
 * @example
 * ```ts
 * HealthResponseSchema.parse({ kind: 'health', role: 'leader' });
 * ```
 */
export const HealthResponseSchema = z.object({ kind: z.literal('health'), role: z.string().max(32).optional() }).loose();

/**
 * `POST /api/sessions/:id/rollback`: the session (its `currentModelId` now the chosen model) and the model it was at.
 * @example
 * ```ts
 * RollbackResponseSchema.parse({ session, previousModelId: 's1.m3' });
 * ```
 */
export const RollbackResponseSchema = z.object({ session: SessionViewSchema, previousModelId: id }).loose();
export type RollbackResponse = z.infer<typeof RollbackResponseSchema>;
