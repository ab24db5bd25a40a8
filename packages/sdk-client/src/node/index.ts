/**
 * @fedweb/sdk-client/node: the same FedClient for Node 20+ (edge devices, simulations). Training runs in a
 * `worker_thread` (resource-limited, terminated on timeout or abort) with `@tensorflow/tfjs` on the WASM backend where the model's kernels allow it, else CPU (never tfjs-node);
 * the cache lives on the file system; the WebSocket is `ws`; updates are deflated with node:zlib.
 *
 * ```ts
 * import { FedClient } from '@fedweb/sdk-client/node';
 * const client = new FedClient({ server: 'http://127.0.0.1:8080', data: { load: () => loadMyShard() } });
 * await client.start();
 * ```
 */
import { FedClientCore } from '../client/fed-client.js';
import type { FedClientOptions } from '../client/types.js';
import { nodePlatform } from './platform.js';

/**
 * The fedweb client for Node. `cache` is a directory (default `./.fedweb-cache`), or `false` for memory only.
 * @example
 * ```ts
 * const client = new FedClient({ server: 'http://127.0.0.1:8080', id: 'pi-kitchen', cache: '/var/lib/fedweb', data });
 * client.on('metrics', (m) => console.log(m.task, m.metrics));
 * await client.start();
 * process.on('SIGTERM', () => void client.stop());
 * ```
 */
export class FedClient extends FedClientCore {
  constructor(options: FedClientOptions) {
    super(options, nodePlatform);
  }
}

export * from '../common.js';
export { openFileCache, type FileCacheOptions } from './file-cache.js';
export { nodePlatform, DEFAULT_NODE_CACHE_DIR } from './platform.js';
export { createMemoryCache } from '../cache/memory-cache.js';
export { createFallbackCache } from '../cache/fallback-cache.js';
export type { ClientCache, CacheKind, PendingUpdate, PendingTask, CachedModel, CachedPackage } from '../cache/types.js';
export { createInProcessTrainer } from '../trainer/in-process.js';
export { createThreadTrainer, DEFAULT_TRAINER_LIMITS } from '../trainer/thread-client.js';
export type { BackendChoice, BackendName, BackendReport, Dataset, TrainerApi, TrainProgress } from '../trainer/api.js';
export { FedError, ERROR_CODES, isFedError, type ErrorCode } from '@fedweb/codec';
