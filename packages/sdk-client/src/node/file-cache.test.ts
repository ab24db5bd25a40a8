import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { runCacheContract } from '../cache/contract.js';
import { openFileCache } from './file-cache.js';

const root = await mkdtemp(join(tmpdir(), 'fedweb-file-cache-'));
afterAll(() => rm(root, { recursive: true, force: true }));

runCacheContract('file system', () => openFileCache({ dir: join(root, 'contract') }), true);

describe('openFileCache', () => {
  it('leaves no temporary files behind after writes', async () => {
    const dir = join(root, 'tmpfiles');
    const c = await openFileCache({ dir });
    await c.putModel({ id: 'm', sha256: 'a'.repeat(64), bytes: new Uint8Array(1000).buffer, storedAt: 1 });
    await c.putModel({ id: 'm2', sha256: 'b'.repeat(64), bytes: new Uint8Array(10).buffer, storedAt: 2 });
    expect(await readdir(join(dir, 'models'))).toEqual(['latest.rec']);
  });

  it('treats a torn or foreign record as missing and removes it', async () => {
    const dir = join(root, 'torn');
    const c = await openFileCache({ dir });
    await writeFile(join(dir, 'models', 'latest.rec'), 'garbage');
    expect(await c.getModel()).toBeUndefined();
    expect(await readdir(join(dir, 'models'))).toEqual([]);
  });

  it('rejects with STORAGE when the directory cannot be created', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    const e = await openFileCache({ dir: join(file, 'sub') }).catch((x) => x);
    expect(isFedError(e, 'STORAGE')).toBe(true);
  });
});
