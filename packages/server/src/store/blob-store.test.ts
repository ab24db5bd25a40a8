import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/harness.js';
import { startS3Server } from '../testing/s3.js';
import { FsBlobStore, sha256Node } from './fs-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';
import type { BlobStore } from './types.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let s3: Awaited<ReturnType<typeof startS3Server>>;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.close();
});

const MiB = 1024 * 1024;

/** One engine under the contract: a fresh, empty store (closed after the test), small multipart parts. */
const ENGINES: Array<{ name: string; fresh(): Promise<BlobStore> }> = [
  {
    name: 'folder',
    async fresh() {
      const tmp = await tempDir();
      cleanups.push(tmp.cleanup);
      return new FsBlobStore(join(tmp.dir, 'blobs'));
    },
  },
  {
    name: 'S3 (s3rver on 127.0.0.1)',
    async fresh() {
      const store = new S3BlobStore({ ...s3.options, prefix: `run-${randomBytes(4).toString('hex')}/`, multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
      cleanups.push(() => store.close());
      return store;
    },
  },
];

describe.each(ENGINES)('BlobStore contract: $name', (engine) => {
  it('stores content-addressed blobs and reads them back; absent and malformed ids read as null', async () => {
    const blobs = await engine.fresh();
    const bytes = new TextEncoder().encode('hello fedweb');
    const put = await blobs.put(bytes);
    // `printf 'hello fedweb' | sha256sum`
    expect(put).toMatchObject({ sha256: '5cda50a225ae7e9a93717381ac1f21c22a52602b6eb9521b3670345532235f8c', bytes: 12 });
    expect(sha256Node(bytes)).toBe(put.sha256);
    expect(put.path).toBe(blobs.locate(put.sha256));
    expect(put.path).toContain(`${put.sha256.slice(0, 2)}/${put.sha256}`);
    expect(await blobs.has(put.sha256)).toBe(true);
    expect([...(await blobs.get(put.sha256))!]).toEqual([...bytes]);
    // Idempotent.
    expect(await blobs.put(bytes)).toEqual(put);
    expect(await blobs.has('0'.repeat(64))).toBe(false);
    expect(await blobs.get('0'.repeat(64))).toBeNull();
    expect(await blobs.get('../../etc/passwd')).toBeNull();
    expect(() => blobs.locate('../x')).toThrow(/not a sha256/);
    // The empty blob is a blob too.
    const empty = await blobs.put(new Uint8Array());
    expect((await blobs.get(empty.sha256))?.byteLength).toBe(0);
  });

  it('stores a large model (multipart on S3) byte for byte', async () => {
    const blobs = await engine.fresh();
    const big = new Uint8Array(randomBytes(13 * MiB));
    const put = await blobs.put(big);
    expect(put.bytes).toBe(big.byteLength);
    const back = await blobs.get(put.sha256);
    expect(back?.byteLength).toBe(big.byteLength);
    expect(sha256Node(back!)).toBe(put.sha256);
  });
});

describe('FsBlobStore', () => {
  it('leaves no temporary files behind', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const blobs = new FsBlobStore(join(tmp.dir, 'blobs'));
    const bytes = new TextEncoder().encode('hello fedweb');
    const put = await blobs.put(bytes);
    await blobs.put(bytes);
    expect(new Uint8Array(await readFile(put.path))).toEqual(bytes);
    expect(await readdir(join(tmp.dir, 'blobs', put.sha256.slice(0, 2)))).toEqual([put.sha256]);
  });
});

describe('S3BlobStore faults', () => {
  it('puts a small blob in one PutObject and a large one as a multipart upload of partSize parts', async () => {
    const blobs = new S3BlobStore({ ...s3.options, prefix: `mp-${randomBytes(4).toString('hex')}/`, multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
    cleanups.push(() => blobs.close());
    const commands: string[] = [];
    blobs.s3.middlewareStack.add((next, context) => async (args) => {
      commands.push(context.commandName as string);
      return next(args);
    }, { step: 'initialize' });
    await blobs.put(new Uint8Array(randomBytes(1000)));
    expect(commands.filter((c) => !c.startsWith('Head'))).toEqual(['PutObjectCommand']);
    commands.length = 0;
    await blobs.put(new Uint8Array(randomBytes(13 * MiB)));
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands).toContain('CompleteMultipartUploadCommand');
    expect(commands).not.toContain('PutObjectCommand');
  });

  it('keys blobs under the prefix as s3://bucket/<prefix><aa>/<sha256>', async () => {
    const blobs = new S3BlobStore({ ...s3.options, prefix: 'models/' });
    cleanups.push(() => blobs.close());
    const { sha256, path } = await blobs.put(new Uint8Array([1, 2, 3]));
    expect(path).toBe(`s3://${s3.bucket}/models/${sha256.slice(0, 2)}/${sha256}`);
  });

  it('a server that is down gives a typed, retryable STORAGE error after bounded retries', async () => {
    // A port that refuses connections: bind, note it, close.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const blobs = new S3BlobStore({ ...s3.options, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 });
    cleanups.push(() => blobs.close());
    const err = await blobs.put(new Uint8Array([1])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE', retryable: true });
    await expect(blobs.get('a'.repeat(64))).rejects.toMatchObject({ code: 'STORAGE' });
  });

  it('a slow server (accepts, never answers) gives STORAGE within the request timeout', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); silent.close(() => r()); }));
    const port = (silent.address() as { port: number }).port;
    const blobs = new S3BlobStore({ ...s3.options, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1, requestTimeoutMs: 300 });
    cleanups.push(() => blobs.close());
    await expect(blobs.has('a'.repeat(64))).rejects.toMatchObject({ code: 'STORAGE', retryable: true });
  });
});
