/**
 * Every control message exchanged by client, combiner and controller, declared once.
 * Messages are JSON objects discriminated on `kind`, each carrying the protocol version `v`.
 * Tensor data never travels in these: it goes in binary chunks (see `chunks.ts`) announced by a message.
 *
 * Adding a kind is additive; changing the meaning of a field bumps {@link PROTOCOL_VERSION}.
 */
import { z } from 'zod';
import { ERROR_CODE_NAMES, fedError, type FedError } from './errors.js';
import { boundedRecord, CountSchema as count, jsonDepth, MAX_JSON_DEPTH, Sha256HexSchema as sha256Hex } from './limits.js';
import { DeviceConditionsSchema, WITHDRAW_REASONS } from './conditions.js';

/**
 * 2: `round.start` and `task.train` carry `download` (delta downloads; README "Delta downloads"); `model.ready` and
 * `model.prefetch` were added later within version 2 (additive: an older peer refuses the unknown kind as BAD_MESSAGE).
 */
export const PROTOCOL_VERSION = 2 as const;

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'ids use letters, digits and . _ : @ -');
const finite = z.number().finite();
/** Metric values are finite numbers keyed by name (`loss`, `accuracy`, ...); at most 128 keys of 64 characters. */
export const MetricsSchema = boundedRecord(finite);
export type Metrics = z.infer<typeof MetricsSchema>;

/** What a client reports about itself at join and in heartbeats. All optional: browsers differ. */
export const CapabilitiesSchema = z.object({
  platform: z.enum(['browser', 'node']).optional(),
  backend: z.string().max(32).optional(),
  /** Why other backends lost (backend name -> reason or measured examples/s). */
  backendReport: boundedRecord(z.string().max(200), { maxKeys: 16, maxKeyLength: 32 }).optional(),
  deviceMemoryGb: finite.optional(),
  hardwareConcurrency: count.optional(),
  battery: z.object({ level: z.number().min(0).max(1), charging: z.boolean() }).optional(),
  connection: z.object({ type: z.string().max(32).optional(), effectiveType: z.string().max(16).optional(), saveData: z.boolean().optional() }).optional(),
  visible: z.boolean().optional(),
  userAgent: z.string().max(512).optional(),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/** Where a client fetches a blob over HTTP (ETag = sha256). `url` may be relative to the server origin. */
export const BlobRefSchema = z.object({ id, sha256: sha256Hex, url: z.string().min(1).max(2048), bytes: count });
export type BlobRef = z.infer<typeof BlobRefSchema>;

/**
 * How a client gets the model it trains on (`task.train.download`, `round.start.download`; README "Delta
 * downloads"). The model is the server's download-stream reconstruction: `model` (the BlobRef beside it) is its
 * full frame (f32), `weightsSha256` the SHA-256 of its float32 weights (layout order, little-endian).
 * A client whose cached model has weights `delta.baseSha256` downloads `delta.ref` instead (the int8, deflated
 * change, the same bytes for every client at that base), adds it and checks the result against `weightsSha256`.
 */
export const ModelDownloadSchema = z
  .object({
    weightsSha256: sha256Hex,
    delta: z.object({ baseSha256: sha256Hex, ref: BlobRefSchema }).strict().optional(),
  })
  .strict();
export type ModelDownload = z.infer<typeof ModelDownloadSchema>;

/** Per-round client settings. Strategy-specific extras go in `strategy` (e.g. FedProx `mu`). */
export const TrainSettingsSchema = z.object({
  localEpochs: z.number().int().min(1).max(1000),
  batchSize: z.number().int().min(1).max(65536),
  learningRate: z.number().positive().finite(),
  /** How the client encodes its update (weight delta new - global). */
  encoding: z.enum(['f32', 'int8', 'int4', 'topk']).default('int8'),
  /** Fraction of entries sent with `topk` encoding (0 < f <= 1). */
  topkFraction: z.number().gt(0).lte(1).optional(),
  /** int8/int4 rounding: `nearest` (default) or `stochastic` (unbiased; see the codec's `quantize.ts`). */
  rounding: z.enum(['nearest', 'stochastic']).optional(),
  /** Strategy-specific client settings, e.g. `{ mu: 0.01 }` for FedProx, control variates ref for SCAFFOLD. */
  strategy: boundedRecord(z.unknown()).default({}),
  /** Free-form settings from the compute package / session, passed to the package's `train`. */
  extra: boundedRecord(z.unknown()).default({}),
  /**
   * The session's device conditions (battery, connection, visibility): a client that stops meeting them while it
   * has this task sends `withdraw` and stops training. Absent: none (older servers; selection only).
   */
  conditions: DeviceConditionsSchema.optional(),
});
export type TrainSettings = z.infer<typeof TrainSettingsSchema>;
export type TrainSettingsInput = z.input<typeof TrainSettingsSchema>;

const envelope = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal(kind), ...shape }).strict();

// ---------------------------------------------------------------- client <-> combiner
export const HelloSchema = envelope('hello', {
  clientId: id,
  token: z.string().max(4096).optional(),
  capabilities: CapabilitiesSchema.default({}),
  sdkVersion: z.string().max(32).optional(),
});
export const WelcomeSchema = envelope('welcome', {
  clientId: id,
  combinerId: id,
  heartbeatMs: z.number().int().min(100).max(600_000),
  /** A pending upload the combiner will still accept (round still open), so a reloaded client can resume it. */
  openRoundId: id.optional(),
  /**
   * The round in which this combiner has already counted this client's update (its `update.ack` may have been
   * lost in a cut): a client still holding that update treats it as acknowledged instead of dropping it unseen.
   */
  countedRoundId: id.optional(),
});
export const HeartbeatSchema = envelope('heartbeat', { t: finite, capabilities: CapabilitiesSchema.optional() });
export const TrainTaskSchema = envelope('task.train', {
  taskId: id,
  sessionId: id,
  roundId: id,
  model: BlobRefSchema,
  /** Absent: download `model` and train on it as it is (no reconstruction, no delta). */
  download: ModelDownloadSchema.optional(),
  package: BlobRefSchema,
  settings: TrainSettingsSchema,
  /** Epoch ms after which the combiner closes its part of the round. */
  deadline: finite,
});
/**
 * The model the session's next round will train on, announced as soon as it commits (sync sessions with delta
 * downloads; README "Delta downloads"): the client may fetch it now (delta or full, exactly as for `task.train`)
 * so that the task finds it cached. `model.url` and `download.delta.ref.url` are paths on the client's own server.
 */
export const ModelPrefetchSchema = envelope('model.prefetch', { sessionId: id, model: BlobRefSchema, download: ModelDownloadSchema });
export const ValidateTaskSchema = envelope('task.validate', {
  taskId: id,
  sessionId: id,
  roundId: id,
  model: BlobRefSchema,
  package: BlobRefSchema,
  deadline: finite,
});
export const CancelTaskSchema = envelope('task.cancel', { taskId: id, roundId: id, reason: z.string().max(500) });
/** Announces an update; its frame follows as binary chunks with the same `uploadId`. */
export const UpdateSchema = envelope('update', {
  taskId: id,
  roundId: id,
  uploadId: id,
  numExamples: z.number().int().positive(),
  metrics: MetricsSchema.default({}),
  sha256: sha256Hex,
  byteLength: z.number().int().positive(),
  chunkCount: z.number().int().positive(),
  /** Training time on the client, for the dashboard. */
  trainMs: finite.optional(),
});
/**
 * The client leaves round `roundId` before sending its update (battery low, metered connection, hidden page, or its
 * user's choice): the combiner frees its slot at once. It names no client: it is the authenticated socket's client.
 * `capabilities`: what the client reads now, so it is not picked again while the condition holds.
 */
export const WithdrawSchema = envelope('withdraw', {
  roundId: id,
  taskId: id.optional(),
  reason: z.enum(WITHDRAW_REASONS),
  capabilities: CapabilitiesSchema.optional(),
});
export const UpdateAckSchema = envelope('update.ack', { uploadId: id, roundId: id });
export const ValidationSchema = envelope('validation', {
  taskId: id,
  roundId: id,
  numExamples: z.number().int().positive(),
  metrics: MetricsSchema,
});

// ---------------------------------------------------------------- combiner <-> controller
export const ClientInfoSchema = z.object({
  clientId: id,
  capabilities: CapabilitiesSchema,
  connectedAt: finite,
  lastSeen: finite,
  /** When this client first had an update counted on this connection (absent: none yet). */
  contributedAt: finite.optional(),
});
export type ClientInfo = z.infer<typeof ClientInfoSchema>;

export const CombinerHelloSchema = envelope('combiner.hello', {
  combinerId: id,
  /** The WebSocket URL clients dial to reach this combiner. */
  url: z.string().min(1).max(2048),
  token: z.string().max(4096).optional(),
  capacity: z.number().int().positive().optional(),
});
export const CombinerStatusSchema = envelope('combiner.status', { clients: z.array(ClientInfoSchema).max(100_000) });
export const RoundPrepareSchema = envelope('round.prepare', {
  sessionId: id,
  roundId: id,
  /** Selection filter (from the session config) the combiner applies to its online clients. */
  selection: boundedRecord(z.unknown()).default({}),
});
export const RoundReadySchema = envelope('round.ready', { roundId: id, eligible: z.array(id).max(100_000) });
export const RoundStartSchema = envelope('round.start', {
  sessionId: id,
  roundId: id,
  model: BlobRefSchema,
  /** Passed on in every `task.train` of the round. */
  download: ModelDownloadSchema.optional(),
  package: BlobRefSchema,
  settings: TrainSettingsSchema,
  strategy: z.object({ name: z.string().max(64), options: boundedRecord(z.unknown()).default({}) }),
  clientIds: z.array(id).max(100_000),
  deadline: finite,
  /** Synchronous rounds: the combiner closes its part once this many updates are folded (default: all selected). */
  quota: z.number().int().positive().optional(),
  /**
   * Synchronous rounds where every partial must qualify for the round to be valid: the updates this part needs
   * (the session's `minClients`). Once fewer can still arrive (clients withdrew, failed or left), the part closes at
   * once instead of waiting for an update that cannot make the round valid.
   */
  minUpdates: z.number().int().positive().optional(),
  /** Asynchronous streams (FedBuff): folded updates per forwarded partial (default 1). */
  forwardEvery: z.number().int().positive().optional(),
  /** 1-based round number and the round's seed (the strategy context on the combiner). */
  round: z.number().int().positive().optional(),
  seed: z.number().int().nonnegative().optional(),
  /** Refuse updates whose L2 norm exceeds this (NORM_EXCEEDED), or clip them to it when `clipUpdateNorm`. */
  maxUpdateNorm: z.number().positive().finite().optional(),
  /** Scale updates above `maxUpdateNorm` down to it instead of refusing them. */
  clipUpdateNorm: z.boolean().optional(),
  /** An update's weight is min(numExamples, exampleCap) (absent: numExamples, uncapped). */
  exampleCap: z.number().positive().finite().optional(),
});
/** A combiner's partial aggregate; its frame (strategy-defined tensors) follows as binary chunks. */
export const RoundPartialSchema = envelope('round.partial', {
  roundId: id,
  combinerId: id,
  uploadId: id,
  count: count,
  totalWeight: z.number().nonnegative().finite(),
  metrics: MetricsSchema.default({}),
  /** Strategy-defined scalars that travel with the partial (e.g. FedBuff staleness sums). */
  scalars: MetricsSchema.default({}),
  refusedStale: count.default(0),
  refused: count.default(0),
  sha256: sha256Hex.optional(),
  byteLength: count,
  chunkCount: count,
  /** Epoch ms of the first and last update folded (round timing on the dashboard and in benchmarks). */
  firstUpdateAt: finite.optional(),
  lastUpdateAt: finite.optional(),
  /**
   * Medians of the claimed `numExamples` and of the L2 norms of the updates this partial's combiner decoded
   * (refused ones included), with how many there were: the controller derives the next round's weight cap and
   * norm bound from them.
   */
  updateStats: z.object({ n: count, claimMedian: z.number().nonnegative().finite(), normMedian: z.number().nonnegative().finite() }).optional(),
});
/** A round committed: its model as clients download it (the combiner passes it on as `model.prefetch`). */
export const ModelReadySchema = envelope('model.ready', { sessionId: id, model: BlobRefSchema, download: ModelDownloadSchema });
export const RoundAbortSchema = envelope('round.abort', { roundId: id, reason: z.string().max(500) });
export const ValidateStartSchema = envelope('validate.start', {
  sessionId: id,
  roundId: id,
  model: BlobRefSchema,
  package: BlobRefSchema,
  clientIds: z.array(id).max(100_000),
  deadline: finite,
});
export const ValidatePartialSchema = envelope('validate.partial', {
  roundId: id,
  combinerId: id,
  /** Example-weighted sums of each metric, and the total examples. */
  metricSums: MetricsSchema,
  numExamples: count,
  count: count,
});

// ---------------------------------------------------------------- compute package (manifest.ts)
export { ComputePackageManifestSchema, type ComputePackageManifest } from './manifest.js';

// ---------------------------------------------------------------- any direction
export const ErrorMessageSchema = envelope('error', {
  code: z.enum(ERROR_CODE_NAMES),
  message: z.string().max(2000),
  /** The id (uploadId, taskId, roundId) the error refers to, if any. */
  ref: z.string().max(256).optional(),
});

export const MessageSchema = z.discriminatedUnion('kind', [
  HelloSchema,
  WelcomeSchema,
  HeartbeatSchema,
  TrainTaskSchema,
  ModelPrefetchSchema,
  ValidateTaskSchema,
  CancelTaskSchema,
  UpdateSchema,
  UpdateAckSchema,
  ValidationSchema,
  WithdrawSchema,
  CombinerHelloSchema,
  CombinerStatusSchema,
  RoundPrepareSchema,
  RoundReadySchema,
  RoundStartSchema,
  RoundPartialSchema,
  RoundAbortSchema,
  ModelReadySchema,
  ValidateStartSchema,
  ValidatePartialSchema,
  ErrorMessageSchema,
]);

export type Message = z.infer<typeof MessageSchema>;
export type MessageKind = Message['kind'];
/** The message of a given kind, e.g. `MessageOf<'update'>`. */
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;
/** Input form (defaults optional) used when building a message to send. */
export type MessageInput<K extends MessageKind> = Extract<z.input<typeof MessageSchema>, { kind: K }>;

/** Largest control message accepted (bytes of JSON text). Tensor data goes in chunks instead. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: FedError };

/**
 * Validates an unknown value (already-parsed JSON or a JSON string) as a {@link Message}.
 * Never throws: returns `{ ok: false, error }` with `BAD_MESSAGE` or `VERSION_MISMATCH`.
 *
 * @example
 * ```ts
 * const r = parseMessage(event.data);
 * if (!r.ok) return socket.send(encodeMessage({ v: 2, kind: 'error', code: r.error.code, message: r.error.message }));
 * if (r.value.kind === 'update') ...
 * ```
 */
export function parseMessage(input: unknown): ParseResult<Message> {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_MESSAGE_BYTES) {
      return { ok: false, error: fedError('BAD_MESSAGE', `message is ${input.length} characters, limit ${MAX_MESSAGE_BYTES}`) };
    }
    if (jsonDepth(input) > MAX_JSON_DEPTH) return { ok: false, error: fedError('BAD_MESSAGE', `message nests deeper than ${MAX_JSON_DEPTH} levels`) };
    try {
      value = JSON.parse(input);
    } catch (e) {
      return { ok: false, error: fedError('BAD_MESSAGE', `message is not JSON: ${(e as Error).message}`) };
    }
  }
  if (typeof value === 'object' && value !== null && 'v' in value && (value as { v: unknown }).v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      error: fedError('VERSION_MISMATCH', `protocol version ${String((value as { v: unknown }).v)}, this peer speaks ${PROTOCOL_VERSION}`),
    };
  }
  const r = MessageSchema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
  return { ok: false, error: fedError('BAD_MESSAGE', `invalid message${where}: ${issue?.message ?? 'unknown'}`) };
}

/**
 * Parses and additionally requires a given kind.
 * @example
 * ```ts
 * const hello = expectMessage(raw, 'hello'); // throws FedError BAD_MESSAGE if it is something else
 * ```
 */
export function expectMessage<K extends MessageKind>(input: unknown, kind: K): MessageOf<K> {
  const r = parseMessage(input);
  if (!r.ok) throw r.error;
  if (r.value.kind !== kind) throw fedError('BAD_MESSAGE', `expected a '${kind}' message, got '${r.value.kind}'`);
  return r.value as MessageOf<K>;
}

/**
 * Serialises a message for the wire after validating it, so a peer never sends what it would refuse.
 * @example
 * ```ts
 * ws.send(encodeMessage({ v: 2, kind: 'heartbeat', t: Date.now() }));
 * ```
 */
export function encodeMessage(message: z.input<typeof MessageSchema>): string {
  const r = MessageSchema.safeParse(message);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw fedError('BAD_MESSAGE', `refusing to send an invalid '${String((message as { kind?: unknown }).kind)}' message: ${issue?.path.join('.')} ${issue?.message}`);
  }
  return JSON.stringify(r.data);
}

/** Builds the wire error message for a {@link FedError}. */
export function errorMessage(error: FedError, ref?: string): MessageOf<'error'> {
  return { v: PROTOCOL_VERSION, kind: 'error', code: error.code, message: error.message.slice(0, 2000), ...(ref ? { ref } : {}) };
}
