import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore, sha256Node } from './fs-blob-store.js';
import { keepOrPut, TransientBlobs } from './transient-blobs.js';

const dir = await mkdtemp(join(tmpdir(), 'fedweb-transient-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('TransientBlobs', () => {
  it('keeps blobs in memory only, serves them by SHA-256 beside the store, and drops the oldest beyond the bound', async () => {
    const store = new FsBlobStore(join(dir, 'a'));
    const blobs = new TransientBlobs(store, 2);
    const durable = await blobs.put(new Uint8Array([1, 2, 3]));
    const a = await keepOrPut(blobs, new Uint8Array([4]));
    const b = blobs.keep(new Uint8Array([5]));
    expect(a.sha256).toBe(sha256Node(new Uint8Array([4])));
    expect(await blobs.get(a.sha256)).toEqual(new Uint8Array([4]));
    expect(await blobs.has(b.sha256)).toBe(true);
    expect(await blobs.get(durable.sha256)).toEqual(new Uint8Array([1, 2, 3]));
    // Nothing kept was written: the store has only the durable blob.
    expect(await store.has(a.sha256)).toBe(false);
    expect((await readdir(join(dir, 'a'), { recursive: true })).filter((f) => f.includes(a.sha256))).toEqual([]);
    blobs.keep(new Uint8Array([6]));
    expect(await blobs.get(a.sha256)).toBeNull();
    expect(await blobs.get(b.sha256)).toEqual(new Uint8Array([5]));
  });

  it('keepOrPut writes to a plain store', async () => {
    const store = new FsBlobStore(join(dir, 'b'));
    const r = await keepOrPut(store, new Uint8Array([7, 7]));
    expect(await store.get(r.sha256)).toEqual(new Uint8Array([7, 7]));
  });
});
