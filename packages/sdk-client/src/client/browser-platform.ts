import { fedError } from '@fedweb/codec';
import { openIndexedDbCache } from '../cache/idb-cache.js';
import { createWorkerTrainer } from '../trainer/worker-client.js';
import type { SocketConstructor } from '../transport/socket.js';
import { browserCapabilities, onDeviceChange } from './capabilities.js';
import type { FedPlatform } from './types.js';

interface NavigatorLike {
  userAgent?: string;
  hardwareConcurrency?: number;
  deviceMemory?: number;
}

/**
 * The browser wiring of FedClient: the global WebSocket and fetch, the trainer in a module Web Worker,
 * the IndexedDB cache, navigator capabilities, and battery, connection and visibility events.
 * @example
 * ```ts
 * class MyClient extends FedClientCore { constructor(o: FedClientOptions) { super(o, browserPlatform); } }
 * ```
 */
export const browserPlatform: FedPlatform = {
  name: 'browser',
  // Read at connect time, not import time: importing this module in a context without WebSocket must not throw.
  get WebSocket(): SocketConstructor {
    const W = (globalThis as { WebSocket?: unknown }).WebSocket;
    if (typeof W !== 'function') {
      throw fedError('BAD_CONFIG', "this environment has no WebSocket; in Node import FedClient from '@fedweb/sdk-client/node'");
    }
    return W as SocketConstructor;
  },
  fetch: (input, init) => globalThis.fetch(input, init),
  createTrainer: () => createWorkerTrainer(),
  openCache: (name) => openIndexedDbCache(name === undefined ? {} : { name }),
  capabilities: browserCapabilities,
  deviceKey: async () => {
    const nav = (globalThis as { navigator?: NavigatorLike }).navigator;
    return `browser|${nav?.userAgent ?? '?'}|${nav?.hardwareConcurrency ?? '?'}|${nav?.deviceMemory ?? '?'}`;
  },
  onDeviceChange,
};
