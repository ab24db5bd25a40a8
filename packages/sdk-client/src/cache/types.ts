/**
 * The client's local cache, one interface with three implementations: IndexedDB (browsers, `idb`),
 * the file system (Node) and memory (fallback when storage is unavailable or over quota).
 *
 * Ownership of buffers: every `ArrayBuffer` returned by a getter is a fresh copy the caller owns (it may be
 * transferred to the worker and detached); every buffer passed to a setter may be kept or copied by the cache,
 * and the caller must not mutate it afterwards.
 */
import type { ComputePackageManifest, Metrics, MessageOf } from '@fedweb/codec';
import type { BackendReport } from '../trainer/api.js';

/**
 * A compute package bundle, keyed by the SHA-256 of `code`.
 * @example
 * ```ts
 * const pkg: CachedPackage | undefined = await cache.getPackage(sha256);
 * ```
 */
export interface CachedPackage {
  sha256: string;
  code: ArrayBuffer;
  manifest: ComputePackageManifest;
  storedAt: number;
}

/**
 * The latest global model this client saw (one entry: a newer model replaces it).
 * @example
 * ```ts
 * await cache.putModel({ id: 'sess.m3', sha256, bytes, storedAt: Date.now() });
 * ```
 */
export interface CachedModel {
  id: string;
  sha256: string;
  bytes: ArrayBuffer;
  storedAt: number;
}

/**
 * An update trained but not yet acknowledged by the combiner, kept so a reload or network cut resumes its upload.
 * @example
 * ```ts
 * const p = await cache.getPendingUpdate(clientId);
 * if (p && p.roundId === welcome.openRoundId) resend(p);
 * ```
 */
export interface PendingUpdate {
  clientId: string;
  sessionId: string;
  taskId: string;
  roundId: string;
  uploadId: string;
  /** The encoded update frame. */
  bytes: ArrayBuffer;
  sha256: string;
  numExamples: number;
  metrics: Metrics;
  trainMs: number;
  f32Bytes: number;
  /** Epoch ms after which the combiner closes the round. */
  deadline: number;
  storedAt: number;
}

/**
 * A train task received but not finished, kept so a reload mid-round resumes training if the round is still open.
 * @example
 * ```ts
 * const t = await cache.getPendingTask(clientId);
 * if (t && t.task.roundId === welcome.openRoundId) train(t.task);
 * ```
 */
export interface PendingTask {
  clientId: string;
  task: MessageOf<'task.train'>;
  storedAt: number;
}

/**
 * The backend decided for a package on a device, so `auto` probes once.
 * @example
 * ```ts
 * await cache.putBackend({ key: `${packageSha}|${deviceKey}`, report, storedAt: Date.now() });
 * ```
 */
export interface CachedBackend {
  key: string;
  report: BackendReport;
  storedAt: number;
}

/**
 * The top-k error-feedback residual (what top-k left out last round), per client and session.
 * @example
 * ```ts
 * await cache.putResidual({ key: `topk|${clientId}|${sessionId}`, data: residual, storedAt: Date.now() });
 * ```
 */
export interface CachedResidual {
  key: string;
  data: Float32Array;
  storedAt: number;
}

/**
 * Where the cache keeps its data.
 * @example
 * ```ts
 * if (cache.kind === 'memory') showNotice('progress will not survive a reload');
 * ```
 */
export type CacheKind = 'indexeddb' | 'file' | 'memory';

/**
 * The cache FedClient uses. Implementations never throw for a missing entry (they return `undefined`);
 * storage failures reject with a `STORAGE` FedError, which {@link createFallbackCache} turns into memory storage.
 * @example
 * ```ts
 * const cache = await openIndexedDbCache();          // browsers
 * await cache.putModel({ id: 'm1', sha256, bytes, storedAt: Date.now() });
 * const m = await cache.getModel();                   // a fresh copy
 * ```
 */
export interface ClientCache {
  readonly kind: CacheKind;
  getClientId(): Promise<string | undefined>;
  setClientId(id: string): Promise<void>;
  getPackage(sha256: string): Promise<CachedPackage | undefined>;
  putPackage(pkg: CachedPackage): Promise<void>;
  /** The latest global model, or undefined. */
  getModel(): Promise<CachedModel | undefined>;
  putModel(model: CachedModel): Promise<void>;
  getBackend(key: string): Promise<CachedBackend | undefined>;
  putBackend(entry: CachedBackend): Promise<void>;
  getPendingUpdate(clientId: string): Promise<PendingUpdate | undefined>;
  putPendingUpdate(update: PendingUpdate): Promise<void>;
  /** Deletes the pending update of `clientId` (only if its uploadId matches, when given). */
  deletePendingUpdate(clientId: string, uploadId?: string): Promise<void>;
  getPendingTask(clientId: string): Promise<PendingTask | undefined>;
  putPendingTask(task: PendingTask): Promise<void>;
  /** Deletes the pending task of `clientId` (only if its roundId matches, when given). */
  deletePendingTask(clientId: string, roundId?: string): Promise<void>;
  getResidual(key: string): Promise<CachedResidual | undefined>;
  putResidual(entry: CachedResidual): Promise<void>;
  deleteResidual(key: string): Promise<void>;
  close(): Promise<void>;
}
