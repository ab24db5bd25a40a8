import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame, encodeModelDelta, fedError, fflateCompressor, sha256Hex, unflattenTensors, weightsSha256, type BlobRef, type MessageOf } from '@fedweb/codec';
import { createMemoryCache } from '../cache/memory-cache.js';
import { openIndexedDbCache } from '../cache/idb-cache.js';
import type { ClientCache } from '../cache/types.js';
import { openFileCache } from '../node/file-cache.js';
import { modelForTask, type ModelStreamDeps } from './model-stream.js';

const layout = [
  { name: 'w0', shape: [40, 8] },
  { name: 'w1', shape: [8] },
];
const n = 328;
const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
const exact = base.map((v, i) => v + 0.01 * Math.cos(3 * i));

/** A server: the blobs it serves by URL, and the task of a round whose model is `recon`, with a delta from `base`. */
async function round() {
  const { frame: delta, recon } = await encodeModelDelta(exact, base, layout, { compressor: fflateCompressor });
  const full = await encodeFrame(unflattenTensors(recon, layout), { encoding: 'f32' });
  const ref = async (id: string, bytes: Uint8Array): Promise<BlobRef> => ({ id, sha256: await sha256Hex(bytes), url: `/api/blobs/${id}`, bytes: bytes.byteLength });
  const served = new Map<string, Uint8Array>([
    ['/api/blobs/d', delta],
    ['/api/blobs/f', full],
  ]);
  const task = {
    v: 2,
    kind: 'task.train',
    taskId: 't1',
    sessionId: 's',
    roundId: 's.r2.x',
    model: await ref('f', full),
    download: { weightsSha256: await weightsSha256(recon), delta: { baseSha256: await weightsSha256(base), ref: await ref('d', delta) } },
  } as unknown as MessageOf<'task.train'>;
  return { task, served, recon };
}

function deps(served: Map<string, Uint8Array>, fetched: string[], over: Partial<ModelStreamDeps> = {}): ModelStreamDeps {
  return {
    cache: createMemoryCache(),
    fetch: async (r) => {
      fetched.push(r.url);
      const bytes = served.get(r.url);
      if (!bytes || (await sha256Hex(bytes)) !== r.sha256) throw fedError('HASH_MISMATCH', `bad ${r.url}`);
      return bytes;
    },
    deltas: true,
    maxModelBytes: 1 << 20,
    signal: new AbortController().signal,
    warn: () => {},
    ...over,
  };
}

async function cacheBase(d: ModelStreamDeps, weights: Float32Array): Promise<void> {
  const frame = await encodeFrame(unflattenTensors(weights, layout), { encoding: 'f32', compressor: fflateCompressor });
  await d.cache.putModel({ id: 'm1', sha256: await weightsSha256(weights), bytes: frame.slice().buffer, storedAt: 0 });
}

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** The three caches the SDK ships: the base of a delta lives in each the same way. */
const caches: Array<[string, () => Promise<ClientCache>]> = [
  ['memory', async () => createMemoryCache()],
  ['IndexedDB (fake-indexeddb)', () => openIndexedDbCache({ name: `fedweb-delta-${Math.random()}` })],
  ['file', async () => openFileCache({ dir: dirs[dirs.push(await mkdtemp(join(tmpdir(), 'fedweb-delta-cache-'))) - 1]! })],
];

describe('modelForTask', () => {
  it.each(caches)('rebuilds the model from the cached base and the delta, caches it, and then serves it from the cache (%s)', async (_, open) => {
    const { task, served, recon } = await round();
    const fetched: string[] = [];
    const cache = await open();
    const d = deps(served, fetched, { cache });
    await cacheBase(d, base);
    const first = await modelForTask(d, task);
    expect(first.event).toMatchObject({ via: 'delta', bytes: served.get('/api/blobs/d')!.byteLength, f32Bytes: 4 * n });
    expect(fetched).toEqual(['/api/blobs/d']);
    expect((await d.cache.getModel())?.sha256).toBe(await weightsSha256(recon));
    const again = await modelForTask(d, task);
    expect(again.event.via).toBe('cache');
    expect(fetched).toEqual(['/api/blobs/d']);
    await cache.close();
  });

  it('downloads the full model without a base, with another base, or with deltas switched off', async () => {
    const { task, served } = await round();
    for (const setup of ['none', 'other', 'off'] as const) {
      const fetched: string[] = [];
      const d = deps(served, fetched, setup === 'off' ? { deltas: false } : {});
      if (setup !== 'none') await cacheBase(d, setup === 'other' ? exact : base);
      expect((await modelForTask(d, task)).event.via).toBe('full');
      expect(fetched).toEqual(['/api/blobs/f']);
    }
  });

  it('falls back to the full model when the rebuilt weights do not match (a damaged base)', async () => {
    const { task, served } = await round();
    const fetched: string[] = [];
    const warnings: string[] = [];
    const d = deps(served, fetched, { warn: (m) => warnings.push(m) });
    const damaged = base.slice();
    damaged[5] = 42;
    const frame = await encodeFrame(unflattenTensors(damaged, layout), { encoding: 'f32' });
    // Stored under the base's key, but holding other weights.
    await d.cache.putModel({ id: 'm1', sha256: await weightsSha256(base), bytes: frame.slice().buffer, storedAt: 0 });
    expect((await modelForTask(d, task)).event.via).toBe('full');
    expect(fetched).toEqual(['/api/blobs/d', '/api/blobs/f']);
    expect(warnings[0]).toMatch(/HASH_MISMATCH/);
  });

  it('refuses a full model whose weights are not the announced ones (HASH_MISMATCH)', async () => {
    const { task, served } = await round();
    const bad = { ...task, download: { weightsSha256: '0'.repeat(64) } } as MessageOf<'task.train'>;
    await expect(modelForTask(deps(served, []), bad)).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
  });
});
