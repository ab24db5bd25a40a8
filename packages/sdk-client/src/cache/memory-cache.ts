import type {
  CachedBackend,
  CachedModel,
  CachedPackage,
  CachedResidual,
  ClientCache,
  PendingTask,
  PendingUpdate,
} from './types.js';

/** Copies on the way in and out, so a caller transferring a returned buffer to the worker never detaches the cached one. */
const copy = <T>(v: T): T => structuredClone(v);
const copyOpt = <T>(v: T | undefined): T | undefined => (v === undefined ? undefined : structuredClone(v));

/**
 * A {@link ClientCache} in memory: nothing survives a reload. Used when IndexedDB or the file system is unavailable
 * (private browsing, quota exhausted), and in tests.
 * @example
 * ```ts
 * const client = new FedClient({ server, data, cache: createMemoryCache() });
 * ```
 */
export function createMemoryCache(): ClientCache {
  let clientId: string | undefined;
  let model: CachedModel | undefined;
  const packages = new Map<string, CachedPackage>();
  const backends = new Map<string, CachedBackend>();
  const updates = new Map<string, PendingUpdate>();
  const tasks = new Map<string, PendingTask>();
  const residuals = new Map<string, CachedResidual>();
  return {
    kind: 'memory',
    getClientId: async () => clientId,
    setClientId: async (id) => {
      clientId = id;
    },
    getPackage: async (sha) => copyOpt(packages.get(sha)),
    putPackage: async (p) => {
      packages.set(p.sha256, copy(p));
    },
    getModel: async () => copyOpt(model),
    putModel: async (m) => {
      model = copy(m);
    },
    getBackend: async (key) => copyOpt(backends.get(key)),
    putBackend: async (b) => {
      backends.set(b.key, copy(b));
    },
    getPendingUpdate: async (cid) => copyOpt(updates.get(cid)),
    putPendingUpdate: async (u) => {
      updates.set(u.clientId, copy(u));
    },
    deletePendingUpdate: async (cid, uploadId) => {
      const u = updates.get(cid);
      if (u && (uploadId === undefined || u.uploadId === uploadId)) updates.delete(cid);
    },
    getPendingTask: async (cid) => copyOpt(tasks.get(cid)),
    putPendingTask: async (t) => {
      tasks.set(t.clientId, copy(t));
    },
    deletePendingTask: async (cid, roundId) => {
      const t = tasks.get(cid);
      if (t && (roundId === undefined || t.task.roundId === roundId)) tasks.delete(cid);
    },
    getResidual: async (key) => copyOpt(residuals.get(key)),
    putResidual: async (r) => {
      residuals.set(r.key, copy(r));
    },
    deleteResidual: async (key) => {
      residuals.delete(key);
    },
    close: async () => {},
  };
}
