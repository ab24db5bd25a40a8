import { availableParallelism, cpus, totalmem, platform as osPlatform, arch } from 'node:os';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import type { Capabilities } from '@fedweb/codec';
import { createInProcessTrainer } from '../trainer/in-process.js';
import type { SocketConstructor } from '../transport/socket.js';
import type { FedPlatform } from '../client/types.js';
import { openFileCache } from './file-cache.js';
import { serializeTrainer } from './serialize.js';

/**
 * Default cache directory of Node clients, relative to the working directory.
 * @example
 * ```ts
 * const cache = await openFileCache({ dir: DEFAULT_NODE_CACHE_DIR });
 * ```
 */
export const DEFAULT_NODE_CACHE_DIR = '.fedweb-cache';

/**
 * What a Node client reports: platform `node`, cores, memory, and a user agent naming Node and the OS.
 * @example
 * ```ts
 * await nodeCapabilities(); // { platform: 'node', hardwareConcurrency: 4, deviceMemoryGb: 8, userAgent: 'node/v20.11.0 linux-arm64', visible: true }
 * ```
 */
export async function nodeCapabilities(): Promise<Capabilities> {
  return {
    platform: 'node',
    hardwareConcurrency: availableParallelism(),
    deviceMemoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    userAgent: `node/${process.version} ${osPlatform()}-${arch()}`.slice(0, 512),
    // A headless process is always "in the foreground" for selection purposes.
    visible: true,
  };
}

/**
 * The Node wiring of FedClient: `ws`, global fetch, the in-process tfjs trainer (wasm where the model's kernels
 * allow, else cpu), and the file-system cache.
 * @example
 * ```ts
 * class MyClient extends FedClientCore { constructor(o: FedClientOptions) { super(o, nodePlatform); } }
 * ```
 */
export const nodePlatform: FedPlatform = {
  name: 'node',
  WebSocket: WebSocket as unknown as SocketConstructor,
  fetch: (input, init) => globalThis.fetch(input, init),
  // In-process trainers share tfjs' engine: their calls take turns (see serialize.ts).
  createTrainer: () => serializeTrainer(createInProcessTrainer()),
  openCache: (dir) => openFileCache({ dir: resolve(dir ?? DEFAULT_NODE_CACHE_DIR) }),
  capabilities: nodeCapabilities,
  deviceKey: async () => `node|${process.version}|${osPlatform()}-${arch()}|${cpus()[0]?.model ?? '?'}|${availableParallelism()}`,
};
