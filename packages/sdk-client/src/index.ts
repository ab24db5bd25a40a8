/**
 * @fedweb/sdk-client: join a fedweb server from a web page and train on data that never leaves the browser.
 *
 * ```ts
 * import { FedClient } from '@fedweb/sdk-client';
 * const client = new FedClient({ server: 'https://fl.example.com', token, data: { load: () => myDataset } });
 * client.on('round', (r) => console.log(r.roundId, r.phase));
 * await client.start();
 * ```
 * Node: `import { FedClient } from '@fedweb/sdk-client/node'` (same API; in-process trainer, file cache, `ws`).
 */
import { FedClientCore } from './client/fed-client.js';
import { browserPlatform } from './client/browser-platform.js';
import type { FedClientOptions } from './client/types.js';

/**
 * The fedweb client for browsers: trains in a Web Worker on the fastest tfjs backend that can train the model,
 * caches the package, the model and unacknowledged work in IndexedDB, reconnects with backoff.
 * @example
 * ```ts
 * const client = new FedClient({
 *   server: 'https://fl.example.com',
 *   token: await getClientToken(),
 *   data: { load: () => ({ x: pixels, xShape: [28, 28, 1], y: labels, yShape: [] }) },
 * });
 * client.on('status', (s) => (statusEl.textContent = s.status));
 * client.on('progress', (p) => (lossEl.textContent = p.loss.toFixed(3)));
 * client.on('error', (e) => console.warn(e.code, e.message));
 * await client.start();
 * // later: await client.stop();
 * ```
 */
export class FedClient extends FedClientCore {
  constructor(options: FedClientOptions) {
    super(options, browserPlatform);
  }
}

export * from './common.js';
export { browserPlatform } from './client/browser-platform.js';
export { openIndexedDbCache, IDB_VERSION, type FedwebDBSchema, type IndexedDbCacheOptions } from './cache/idb-cache.js';
export { createMemoryCache } from './cache/memory-cache.js';
export { createFallbackCache, type FallbackCacheOptions } from './cache/fallback-cache.js';
export type {
  CacheKind,
  CachedBackend,
  CachedModel,
  CachedPackage,
  CachedResidual,
  ClientCache,
  PendingTask,
  PendingUpdate,
} from './cache/types.js';
export { createWorkerTrainer, type WorkerTrainerHandle } from './trainer/worker-client.js';
export type {
  BackendChoice,
  BackendName,
  BackendReport,
  Dataset,
  TrainerApi,
  TrainProgress,
  TrainResult,
  ValidateResult,
} from './trainer/api.js';
export { FedError, ERROR_CODES, isFedError, type ErrorCode } from '@fedweb/codec';
