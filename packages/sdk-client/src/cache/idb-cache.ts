/**
 * The browser cache: one IndexedDB database described by one typed `idb` DBSchema, so every store's key and
 * value types are checked at compile time.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { fedError, type FedError } from '@fedweb/codec';
import type {
  CachedBackend,
  CachedModel,
  CachedPackage,
  CachedResidual,
  ClientCache,
  PendingTask,
  PendingUpdate,
} from './types.js';

/**
 * Bump when a store's shape changes; `upgrade` below migrates.
 * @example
 * ```ts
 * const db = await openDB<FedwebDBSchema>('fedweb', IDB_VERSION); // read the cache with idb directly
 * ```
 */
export const IDB_VERSION = 1;

/**
 * The schema of the `fedweb` IndexedDB database.
 * - `packages`: compute package bundles by SHA-256.
 * - `models`: the latest global model under the key `latest`.
 * - `meta`: small values (`clientId`).
 * - `backends`: backend decisions by `<package sha256>|<device>`.
 * - `pendingUpdates` / `pendingTasks`: unacknowledged work per client id.
 * - `residuals`: top-k error-feedback residuals by `<clientId>|<sessionId>`.
 * @example
 * ```ts
 * const db = await openDB<FedwebDBSchema>('fedweb', IDB_VERSION);
 * const model = await db.get('models', 'latest'); // CachedModel | undefined
 * ```
 */
export interface FedwebDBSchema extends DBSchema {
  packages: { key: string; value: CachedPackage };
  models: { key: 'latest'; value: CachedModel };
  meta: { key: 'clientId'; value: string };
  backends: { key: string; value: CachedBackend };
  pendingUpdates: { key: string; value: PendingUpdate };
  pendingTasks: { key: string; value: PendingTask };
  residuals: { key: string; value: CachedResidual };
}

/**
 * IndexedDbCacheOptions
 * @example
 * ```ts
 * const cache = await openIndexedDbCache({ name: 'my-app-fedweb' });
 * ```
 */
export interface IndexedDbCacheOptions {
  /** Database name (default `fedweb`). Use one per app if several fedweb apps share an origin. */
  name?: string;
}

function storageError(what: string, e: unknown): FedError {
  const name = e instanceof Error || (typeof DOMException !== 'undefined' && e instanceof DOMException) ? (e as Error).name : 'Error';
  const hint =
    name === 'QuotaExceededError'
      ? 'the browser storage quota is exhausted; free space or clear this site data'
      : 'IndexedDB is unavailable (private browsing?) or failed';
  return fedError('STORAGE', `${what}: ${hint} (${name}: ${(e as Error)?.message ?? String(e)})`, { name }, e);
}

/**
 * Opens (creating or upgrading) the IndexedDB cache. Rejects with `STORAGE` when IndexedDB is missing or refuses
 * to open (private mode); {@link openBrowserCache} catches that and falls back to memory.
 * @example
 * ```ts
 * const cache = await openIndexedDbCache({ name: 'my-app-fedweb' });
 * ```
 */
export async function openIndexedDbCache(opts: IndexedDbCacheOptions = {}): Promise<ClientCache> {
  const name = opts.name ?? 'fedweb';
  if (!(globalThis as { indexedDB?: IDBFactory }).indexedDB) {
    throw fedError('STORAGE', 'IndexedDB is not available in this context; the cache will live in memory');
  }
  let db: IDBPDatabase<FedwebDBSchema> | undefined;

  const open = async (): Promise<IDBPDatabase<FedwebDBSchema>> => {
    const opened = await openDB<FedwebDBSchema>(name, IDB_VERSION, {
      upgrade(d) {
        for (const s of ['packages', 'models', 'meta', 'backends', 'pendingUpdates', 'pendingTasks', 'residuals'] as const) {
          if (!d.objectStoreNames.contains(s)) d.createObjectStore(s);
        }
      },
      blocking() {
        // Another tab wants a newer schema: step aside; the next call reopens.
        opened.close();
        db = undefined;
      },
      terminated() {
        db = undefined;
      },
    });
    return opened;
  };

  try {
    db = await open();
  } catch (e) {
    throw storageError(`cannot open IndexedDB database '${name}'`, e);
  }

  const run = async <T>(what: string, fn: (d: IDBPDatabase<FedwebDBSchema>) => Promise<T>): Promise<T> => {
    try {
      db ??= await open();
      return await fn(db);
    } catch (e) {
      throw storageError(what, e);
    }
  };

  return {
    kind: 'indexeddb',
    getClientId: () => run('read client id', (d) => d.get('meta', 'clientId')),
    setClientId: (id) => run('write client id', async (d) => void (await d.put('meta', id, 'clientId'))),
    getPackage: (sha) => run('read package', (d) => d.get('packages', sha)),
    putPackage: (p) => run('write package', async (d) => void (await d.put('packages', p, p.sha256))),
    getModel: () => run('read model', (d) => d.get('models', 'latest')),
    putModel: (m) => run('write model', async (d) => void (await d.put('models', m, 'latest'))),
    getBackend: (key) => run('read backend decision', (d) => d.get('backends', key)),
    putBackend: (b) => run('write backend decision', async (d) => void (await d.put('backends', b, b.key))),
    getPendingUpdate: (cid) => run('read pending update', (d) => d.get('pendingUpdates', cid)),
    putPendingUpdate: (u) => run('write pending update', async (d) => void (await d.put('pendingUpdates', u, u.clientId))),
    deletePendingUpdate: (cid, uploadId) =>
      run('delete pending update', async (d) => {
        const tx = d.transaction('pendingUpdates', 'readwrite');
        const cur = await tx.store.get(cid);
        if (cur && (uploadId === undefined || cur.uploadId === uploadId)) await tx.store.delete(cid);
        await tx.done;
      }),
    getPendingTask: (cid) => run('read pending task', (d) => d.get('pendingTasks', cid)),
    putPendingTask: (t) => run('write pending task', async (d) => void (await d.put('pendingTasks', t, t.clientId))),
    deletePendingTask: (cid, roundId) =>
      run('delete pending task', async (d) => {
        const tx = d.transaction('pendingTasks', 'readwrite');
        const cur = await tx.store.get(cid);
        if (cur && (roundId === undefined || cur.task.roundId === roundId)) await tx.store.delete(cid);
        await tx.done;
      }),
    getResidual: (key) => run('read residual', (d) => d.get('residuals', key)),
    putResidual: (r) => run('write residual', async (d) => void (await d.put('residuals', r, r.key))),
    deleteResidual: (key) => run('delete residual', (d) => d.delete('residuals', key)),
    close: async () => {
      db?.close();
      db = undefined;
    },
  };
}
