/**
 * Storage interfaces. The embedded default is SQLite (state) + a local folder (blobs); a scaled-out
 * deployment swaps in PostgreSQL / S3 implementations of the same two interfaces. Every method is async so
 * that network-backed stores fit without changing callers.
 */
import type { Capabilities, Metrics } from '@fedweb/codec';
import type { SessionConfig } from '../config.js';

export type SessionStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface SessionRecord {
  id: string;
  name: string | null;
  status: SessionStatus;
  config: SessionConfig;
  /** SHA-256 of the compute package bundle the session trains. */
  packageSha: string;
  /** The model the session started from. */
  initialModelId: string;
  /** The last committed global model (the next round trains it). */
  currentModelId: string;
  /** Rounds finished (committed or failed); the next round is `completedRounds + 1`. */
  completedRounds: number;
  /** Strategy state as JSON (tensors in `strategyStateSha`, an f32 frame blob). */
  strategyState: unknown;
  strategyStateSha: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export type RoundStatus = 'preparing' | 'training' | 'reducing' | 'validating' | 'committed' | 'failed' | 'interrupted' | 'aborted';

/** What each combiner reported for a round. */
export interface PartialSummary {
  combinerId: string;
  count: number;
  weight: number;
  refusedStale: number;
  refused: number;
  /** Epoch ms of the first and last update this combiner folded (absent if none). */
  firstUpdateAt?: number;
  lastUpdateAt?: number;
  /** When the controller had the partial. */
  receivedAt: number;
  /** The claims and norms its combiner saw (the next round's bounds; round/update-bounds.ts). */
  updateStats?: { n: number; claimMedian: number; normMedian: number };
}

export interface RoundRecord {
  id: string;
  sessionId: string;
  round: number;
  status: RoundStatus;
  startedAt: number;
  /** Training deadline (epoch ms). */
  deadline: number | null;
  /** Last client update folded by any combiner (epoch ms). */
  lastUpdateAt: number | null;
  /** When the commit transaction began (it took `timings.commit` ms). */
  committedAt: number | null;
  modelId: string | null;
  updates: number;
  weight: number;
  combiners: string[];
  partials: PartialSummary[];
  trainMetrics: Metrics;
  validationMetrics: Metrics;
  /** Where the round's time went after the last update (ms): `partials`, `decode`, `step`, `encode`, `store`, `commit`. */
  timings: Record<string, number>;
  reason: string | null;
}

export interface ModelRecord {
  id: string;
  parentId: string | null;
  sessionId: string | null;
  /** 0 for a seed model. */
  round: number;
  sha256: string;
  bytes: number;
  blobPath: string;
  metrics: Metrics;
  createdAt: number;
}

export interface PackageRecord {
  sha256: string;
  name: string;
  version: string;
  manifest: unknown;
  seedModelId: string;
  bytes: number;
  createdAt: number;
  active: boolean;
}

export interface ClientSeenRecord {
  clientId: string;
  combinerId: string | null;
  firstSeen: number;
  lastSeen: number;
  capabilities: Capabilities;
  /** When an update of this client was first counted; null or absent: it never completed a round (garbage-collected). */
  contributedAt?: number | null;
}

/** A page of `listClients`: ids after `after` (exclusive), in id order, at most `limit` (default all). */
export interface ClientPage {
  after?: string;
  limit?: number;
}

export interface MetricRow {
  sessionId: string;
  round: number;
  /** `train` (client training metrics), `validate` (validation), `server` (strategy / reducer). */
  scope: 'train' | 'validate' | 'server';
  name: string;
  value: number;
}

/**
 * One operator action in the audit log: who (a token's subject and role; `anonymous` with auth off, `local` for
 * the server process itself, e.g. `--package` at start), what (`action` on `target`, a small JSON `detail`), when.
 */
export interface AuditRecord {
  /** Increasing with every entry (the paging cursor). */
  id: number;
  /** Epoch ms. */
  at: number;
  actor: string;
  role: string | null;
  /** `session.start`, `session.pause`, `session.resume`, `session.stop`, `session.rollback`, `package.upload`, `package.activate`, `token.issue`. */
  action: string;
  /** The id acted on: a session id, a package SHA-256, a token's subject. */
  target: string | null;
  detail: Record<string, unknown>;
}

/** An audit entry before the store numbers it. */
export type AuditEntry = Omit<AuditRecord, 'id'>;

/** A page of `listAudit`, newest first: ids below `before`, at or after `since` (epoch ms), of one `action`; at most `limit`. */
export interface AuditQuery {
  limit: number;
  before?: number;
  action?: string;
  since?: number;
}

/** The atomic write at step 7 of the round: model row, round row, session progress and metrics. */
export interface RoundCommit {
  model: ModelRecord | null;
  round: RoundRecord;
  /** Session progress. Status is NOT written here: an operator may have paused or stopped it meanwhile. */
  session: Pick<SessionRecord, 'id' | 'currentModelId' | 'completedRounds' | 'strategyState' | 'strategyStateSha'>;
  metrics: MetricRow[];
}

/**
 * Durable controller state. Implementations must make `commitRound` atomic.
 * @example
 * ```ts
 * const store = openSqliteStateStore('./.fedweb/state.db');
 * await store.createSession(record);
 * ```
 */
export interface StateStore {
  createSession(rec: SessionRecord): Promise<void>;
  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id' | 'createdAt'>>): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  listSessions(): Promise<SessionRecord[]>;

  putRound(rec: RoundRecord): Promise<void>;
  getRound(id: string): Promise<RoundRecord | null>;
  listRounds(sessionId: string): Promise<RoundRecord[]>;
  /** Marks rounds left open by a crash (any non-final status) as `interrupted`; returns how many. */
  interruptOpenRounds(): Promise<number>;

  /** Step 7 of the round, in one transaction. */
  commitRound(commit: RoundCommit): Promise<void>;
  /** Inserts a model row (seed models); ignores a duplicate id. */
  putModel(rec: ModelRecord): Promise<void>;
  getModel(id: string): Promise<ModelRecord | null>;
  listModels(filter?: { sessionId?: string }): Promise<ModelRecord[]>;

  putPackage(rec: PackageRecord, activate: boolean): Promise<void>;
  getPackage(sha256: string): Promise<PackageRecord | null>;
  getActivePackage(): Promise<PackageRecord | null>;

  upsertClients(recs: ClientSeenRecord[]): Promise<void>;
  /** Clients in id order (a page of them with `page`). */
  listClients(page?: ClientPage): Promise<ClientSeenRecord[]>;
  /** Deletes clients that never had an update counted and were last seen before `before` (epoch ms); returns how many. */
  pruneClients(before: number): Promise<number>;

  listMetrics(sessionId: string): Promise<MetricRow[]>;

  /** Appends an operator action to the audit log; returns it with its id. */
  appendAudit(entry: AuditEntry): Promise<AuditRecord>;
  /** Audit entries, newest first (see {@link AuditQuery}). */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

/**
 * Content-addressed immutable blobs (models, packages, partial state). `put` is durable when it resolves.
 * @example
 * ```ts
 * const { sha256 } = await blobs.put(frameBytes);
 * const same = await blobs.get(sha256);
 * ```
 */
export interface BlobStore {
  put(bytes: Uint8Array): Promise<{ sha256: string; bytes: number; path: string }>;
  /** The blob's bytes, or `null` when absent. */
  get(sha256: string): Promise<Uint8Array | null>;
  has(sha256: string): Promise<boolean>;
  /** Where the blob lives (a file path or an object key), recorded in the model trail. */
  locate(sha256: string): string;
  /** Releases connections (network-backed stores). */
  close?(): void | Promise<void>;
}
