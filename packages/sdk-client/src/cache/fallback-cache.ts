import { toFedError, type FedError } from '@fedweb/codec';
import { withTimeout } from '../client/abort.js';
import { createMemoryCache } from './memory-cache.js';
import type { ClientCache } from './types.js';

/**
 * FallbackCacheOptions
 * @example
 * ```ts
 * createFallbackCache(primary, { warn: (m) => console.warn(m) });
 * ```
 */
export interface FallbackCacheOptions {
  /** Bound on each operation of the primary cache, ms (default 10 000): a stuck IndexedDB or disk counts as failed. */
  opTimeoutMs?: number;
  /** Told once per kind of failure (quota, unavailable); default `console.warn`. */
  warn?: (message: string, error: FedError) => void;
}

/**
 * Wraps a persistent cache so storage failures never stop training: a write that fails (quota exceeded,
 * private mode, disk full) lands in a memory overlay instead, a read that fails returns what the overlay
 * holds, and the failure is reported through `warn` once per operation kind. Reads prefer the overlay, so
 * data written during an outage is still found.
 * @example
 * ```ts
 * const cache = createFallbackCache(await openIndexedDbCache(), { warn: (m) => console.warn(m) });
 * ```
 */
export function createFallbackCache(inner: ClientCache, opts: FallbackCacheOptions = {}): ClientCache {
  const overlay = createMemoryCache();
  const ms = opts.opTimeoutMs ?? 10_000;
  // Every call into the persistent cache is bounded, so storage that hangs degrades like storage that fails.
  const primary = Object.fromEntries(
    Object.entries(inner).map(([k, v]) => [k, typeof v === 'function' ? (...a: unknown[]) => withTimeout(Promise.resolve().then(() => v.apply(inner, a)), ms, `cache ${k}`) : v]),
  ) as unknown as ClientCache;
  const warned = new Set<string>();
  const warn = (op: string, e: unknown) => {
    const err = toFedError(e, 'STORAGE');
    if (warned.has(op)) return;
    warned.add(op);
    const msg = `fedweb: ${op} failed, keeping this data in memory only (it will not survive a reload): ${err.message}`;
    try {
      (opts.warn ?? ((m: string) => console.warn(m)))(msg, err);
    } catch {
      // A throwing warn callback must not turn a degraded cache into a crash.
    }
  };

  /** Read: overlay first (newer, written during an outage), then the primary; a failing primary reads as a miss. */
  const read = async <T>(op: string, fromOverlay: () => Promise<T | undefined>, fromPrimary: () => Promise<T | undefined>) => {
    const o = await fromOverlay();
    if (o !== undefined) return o;
    try {
      return await fromPrimary();
    } catch (e) {
      warn(op, e);
      return undefined;
    }
  };
  /** Write: the primary; on failure the overlay. A successful primary write clears a stale overlay entry. */
  const write = async (op: string, toPrimary: () => Promise<void>, toOverlay: () => Promise<void>, clearOverlay: () => Promise<void>) => {
    try {
      await toPrimary();
      await clearOverlay();
    } catch (e) {
      warn(op, e);
      await toOverlay();
    }
  };
  /** Delete: both; a failing primary delete is reported, not thrown. */
  const del = async (op: string, fromPrimary: () => Promise<void>, fromOverlay: () => Promise<void>) => {
    await fromOverlay();
    try {
      await fromPrimary();
    } catch (e) {
      warn(op, e);
    }
  };

  return {
    kind: primary.kind,
    getClientId: () => read('reading the client id', overlay.getClientId, primary.getClientId),
    setClientId: (id) =>
      write('saving the client id', () => primary.setClientId(id), () => overlay.setClientId(id), async () => {
        if ((await overlay.getClientId()) !== undefined) await overlay.setClientId(id);
      }),
    getPackage: (sha) => read('reading a cached package', () => overlay.getPackage(sha), () => primary.getPackage(sha)),
    putPackage: (p) => write('caching a package', () => primary.putPackage(p), () => overlay.putPackage(p), async () => {}),
    getModel: () => read('reading the cached model', overlay.getModel, primary.getModel),
    putModel: (m) =>
      write(
        'caching the model',
        () => primary.putModel(m),
        () => overlay.putModel(m),
        // A memory copy of an older model must not shadow the newer persisted one.
        async () => {
          const o = await overlay.getModel();
          if (o && o.sha256 !== m.sha256) await overlay.putModel(m);
        },
      ),
    getBackend: (k) => read('reading the backend decision', () => overlay.getBackend(k), () => primary.getBackend(k)),
    putBackend: (b) =>
      write('saving the backend decision', () => primary.putBackend(b), () => overlay.putBackend(b), async () => {
        if ((await overlay.getBackend(b.key)) !== undefined) await overlay.putBackend(b);
      }),
    getPendingUpdate: (cid) => read('reading the pending update', () => overlay.getPendingUpdate(cid), () => primary.getPendingUpdate(cid)),
    putPendingUpdate: (u) =>
      write(
        'saving the pending update',
        () => primary.putPendingUpdate(u),
        () => overlay.putPendingUpdate(u),
        () => overlay.deletePendingUpdate(u.clientId),
      ),
    deletePendingUpdate: (cid, up) =>
      del('deleting the pending update', () => primary.deletePendingUpdate(cid, up), () => overlay.deletePendingUpdate(cid, up)),
    getPendingTask: (cid) => read('reading the pending task', () => overlay.getPendingTask(cid), () => primary.getPendingTask(cid)),
    putPendingTask: (t) =>
      write(
        'saving the pending task',
        () => primary.putPendingTask(t),
        () => overlay.putPendingTask(t),
        () => overlay.deletePendingTask(t.clientId),
      ),
    deletePendingTask: (cid, r) =>
      del('deleting the pending task', () => primary.deletePendingTask(cid, r), () => overlay.deletePendingTask(cid, r)),
    getResidual: (k) => read('reading the top-k residual', () => overlay.getResidual(k), () => primary.getResidual(k)),
    putResidual: (r) =>
      write('saving the top-k residual', () => primary.putResidual(r), () => overlay.putResidual(r), () => overlay.deleteResidual(r.key)),
    deleteResidual: (k) => del('deleting the top-k residual', () => primary.deleteResidual(k), () => overlay.deleteResidual(k)),
    close: async () => {
      try {
        await primary.close();
      } catch (e) {
        warn('closing the cache', e);
      }
    },
  };
}
