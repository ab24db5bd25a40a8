/**
 * Opening the client's local storage at start: the cache named by the `cache` option (degraded to memory, with a
 * warning, when IndexedDB or the directory is unavailable), the client id kept in it, and the device key.
 */
import { toFedError } from '@fedweb/codec';
import { createFallbackCache } from '../cache/fallback-cache.js';
import { createMemoryCache } from '../cache/memory-cache.js';
import type { ClientCache } from '../cache/types.js';
import { withTimeout } from './abort.js';
import { CLIENT_ID_RE, randomId } from './ids.js';
import type { FedClientOptions, FedPlatform } from './types.js';

/**
 * What {@link openStorage} opened.
 * @example
 * ```ts
 * const { cache, clientId, deviceKey }: OpenedStorage = await openStorage(options, platform, console.warn);
 * ```
 */
export interface OpenedStorage {
  cache: ClientCache;
  clientId: string;
  deviceKey: string;
}

/**
 * Opens the cache (`false`: memory; an object: that cache; a name or nothing: the platform's persistent cache,
 * memory if it fails), wraps a persistent one so a failing operation degrades to memory, and reads or creates
 * the client id (`options.id` wins), so a reload is the same client.
 * @example
 * ```ts
 * const storage = await openStorage({ server, data, cache: 'my-app' }, browserPlatform, (m) => console.warn(m));
 * ```
 */
export async function openStorage(options: FedClientOptions, platform: FedPlatform, warn: (message: string) => void): Promise<OpenedStorage> {
  const spec = options.cache;
  let opened: ClientCache;
  if (spec === false) opened = createMemoryCache();
  else if (spec && typeof spec === 'object') opened = spec;
  else {
    try {
      opened = await withTimeout(platform.openCache(spec), 10_000, 'opening the local cache');
    } catch (e) {
      warn(`fedweb: the local cache is unavailable, using memory (nothing survives a reload): ${toFedError(e, 'STORAGE').message}`);
      opened = createMemoryCache();
    }
  }
  const cache = opened.kind === 'memory' ? opened : createFallbackCache(opened, { warn });
  try {
    const deviceKey = await platform.deviceKey();
    let clientId = options.id;
    if (!clientId) {
      clientId = await cache.getClientId();
      if (!clientId || !CLIENT_ID_RE.test(clientId)) {
        clientId = randomId('c');
        await cache.setClientId(clientId);
      }
    }
    return { cache, clientId, deviceKey };
  } catch (e) {
    await cache.close().catch(() => {});
    throw e;
  }
}
