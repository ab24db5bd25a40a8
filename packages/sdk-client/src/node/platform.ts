import { availableParallelism, cpus, totalmem, platform as osPlatform, arch } from 'node:os';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, type Capabilities } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createThreadTrainer } from '../trainer/thread-client.js';
import type { SocketConstructor } from '../transport/socket.js';
import type { FedPlatform } from '../client/types.js';
import { linuxBattery } from './battery.js';
import { openFileCache } from './file-cache.js';

/**
 * Default cache directory of Node clients, relative to the working directory.
 * @example
 * ```ts
 * const cache = await openFileCache({ dir: DEFAULT_NODE_CACHE_DIR });
 * ```
 */
export const DEFAULT_NODE_CACHE_DIR = '.fedweb-cache';

/**
 * What a Node client reports: platform `node`, cores, memory, a user agent naming Node and the OS, and on Linux its
 * battery if it has one (read on every heartbeat, so the session's battery conditions withdraw it in time).
 * @example
 * ```ts
 * await nodeCapabilities(); // { platform: 'node', hardwareConcurrency: 4, deviceMemoryGb: 8, userAgent: 'node/v20.11.0 linux-arm64', visible: true }
 * ```
 */
export async function nodeCapabilities(): Promise<Capabilities> {
  const battery = osPlatform() === 'linux' ? await linuxBattery() : undefined;
  return {
    ...(battery ? { battery } : {}),
    platform: 'node',
    hardwareConcurrency: availableParallelism(),
    deviceMemoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    userAgent: `node/${process.version} ${osPlatform()}-${arch()}`.slice(0, 512),
    // A headless process is always "in the foreground" for selection purposes.
    visible: true,
  };
}

/**
 * `ws`'s WebSocket bounded by the SDK's message limit: `maxPayload` (which also caps what permessage-deflate may
 * inflate a message to) is {@link MAX_MESSAGE_BYTES} instead of `ws`'s default 100 MiB, so a combiner cannot make
 * the client hold more than that for one message, compressed or not. A larger message closes the socket (1009)
 * and the client reconnects.
 * @example
 * ```ts
 * const socket = new BoundedWebSocket('ws://127.0.0.1:8080/ws/client');
 * ```
 */
export class BoundedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { maxPayload: MAX_MESSAGE_BYTES });
  }
}

/**
 * The Node wiring of FedClient: `ws` (bounded), global fetch, the tfjs trainer in a `worker_thread` with resource
 * limits (wasm where the model's kernels allow, else cpu), and the file-system cache.
 * @example
 * ```ts
 * class MyClient extends FedClientCore { constructor(o: FedClientOptions) { super(o, nodePlatform); } }
 * ```
 */
export const nodePlatform: FedPlatform = {
  name: 'node',
  WebSocket: BoundedWebSocket as unknown as SocketConstructor,
  fetch: (input, init) => globalThis.fetch(input, init),
  // Package code runs in a worker_thread with resource limits, never on the client's event loop.
  createTrainer: () => createThreadTrainer(),
  openCache: (dir) => openFileCache({ dir: resolve(dir ?? DEFAULT_NODE_CACHE_DIR) }),
  capabilities: nodeCapabilities,
  compressor: nodeZlibCompressor,
  deviceKey: async () => `node|${process.version}|${osPlatform()}-${arch()}|${cpus()[0]?.model ?? '?'}|${availableParallelism()}`,
};
