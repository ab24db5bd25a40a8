import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { isFedError } from '@fedweb/codec';
import { runCacheContract, pendingUpdate } from './contract.js';
import { createMemoryCache } from './memory-cache.js';
import { openIndexedDbCache } from './idb-cache.js';
import { createFallbackCache } from './fallback-cache.js';
import type { ClientCache } from './types.js';

let dbCounter = 0;
let currentDb = '';
runCacheContract('memory', async () => createMemoryCache(), false);
runCacheContract(
  'IndexedDB (fake-indexeddb)',
  async () => {
    currentDb ||= `fedweb-test-${++dbCounter}`;
    return openIndexedDbCache({ name: currentDb });
  },
  true,
);
runCacheContract('fallback over IndexedDB', async () => createFallbackCache(await openIndexedDbCache({ name: 'fedweb-fallback-contract' })), true);

/** A primary cache whose writes fail like a browser over quota, and whose reads fail like a broken database. */
function failingCache(opts: { writes?: boolean; reads?: boolean }): ClientCache {
  const base = createMemoryCache();
  const quota = () => Promise.reject(Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' }));
  const broken = () => Promise.reject(new Error('database closed'));
  return {
    ...base,
    kind: 'indexeddb',
    ...(opts.writes
      ? { setClientId: quota, putPackage: quota, putModel: quota, putBackend: quota, putPendingUpdate: quota, putPendingTask: quota, putResidual: quota }
      : {}),
    ...(opts.reads ? { getClientId: broken, getModel: broken, getPendingUpdate: broken, getPackage: broken } : {}),
  };
}

describe('createFallbackCache', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps data in memory when the primary is over quota, warning once per operation', async () => {
    const warnings: string[] = [];
    const c = createFallbackCache(failingCache({ writes: true }), { warn: (m) => warnings.push(m) });
    await c.putModel({ id: 'm1', sha256: 'a'.repeat(64), bytes: new Uint8Array([9]).buffer, storedAt: 1 });
    await c.putModel({ id: 'm2', sha256: 'b'.repeat(64), bytes: new Uint8Array([8]).buffer, storedAt: 2 });
    await c.putPendingUpdate(pendingUpdate());
    expect((await c.getModel())?.id).toBe('m2');
    expect((await c.getPendingUpdate('c1'))?.uploadId).toBe('u1');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/caching the model failed, keeping this data in memory.*quota/);
  });

  it('reads through a broken primary as misses, never throwing', async () => {
    const warnings: string[] = [];
    const c = createFallbackCache(failingCache({ reads: true }), { warn: (m) => warnings.push(m) });
    expect(await c.getModel()).toBeUndefined();
    expect(await c.getClientId()).toBeUndefined();
    expect(warnings.length).toBe(2);
  });

  it('a throwing warn callback does not turn degradation into a crash', async () => {
    const c = createFallbackCache(failingCache({ writes: true }), {
      warn: () => {
        throw new Error('logger down');
      },
    });
    await expect(c.setClientId('x')).resolves.toBeUndefined();
    expect(await c.getClientId()).toBe('x');
  });
});

describe('openIndexedDbCache when IndexedDB is unavailable (private mode)', () => {
  const g = globalThis as { indexedDB?: IDBFactory };
  const saved = g.indexedDB;
  afterEach(() => {
    g.indexedDB = saved;
  });

  it('rejects with STORAGE when there is no indexedDB', async () => {
    delete g.indexedDB;
    const e = await openIndexedDbCache().catch((x) => x);
    expect(isFedError(e, 'STORAGE')).toBe(true);
  });

  it('rejects with STORAGE when open() fails (Firefox private browsing throws InvalidStateError)', async () => {
    const factory = new IDBFactory();
    factory.open = () => {
      throw new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError');
    };
    g.indexedDB = factory;
    const e = await openIndexedDbCache({ name: 'private' }).catch((x) => x);
    expect(isFedError(e, 'STORAGE')).toBe(true);
    expect(e.message).toMatch(/InvalidStateError/);
  });
});

describe('createFallbackCache with storage that hangs', () => {
  it('bounds each primary operation and falls back to memory', async () => {
    const hung = createMemoryCache();
    const never = () => new Promise<never>(() => {});
    const warnings: string[] = [];
    const c = createFallbackCache({ ...hung, kind: 'indexeddb', putModel: never, getModel: never }, { opTimeoutMs: 20, warn: (m) => warnings.push(m) });
    await c.putModel({ id: 'm1', sha256: 'a'.repeat(64), bytes: new Uint8Array([1]).buffer, storedAt: 1 });
    expect((await c.getModel())?.id).toBe('m1');
    expect(warnings[0]).toMatch(/caching the model failed.*did not finish within 20 ms/);
  });
});
