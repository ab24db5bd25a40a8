/**
 * The conformance suite every {@link ClientCache} implementation runs (memory, IndexedDB, file system, fallback).
 * Test-only; imported by `*.test.ts` files.
 */
import { describe, expect, it } from 'vitest';
import type { MessageOf } from '@fedweb/codec';
import type { ClientCache, PendingUpdate } from './types.js';

const sha = (c: string) => c.repeat(64);

/**
 * A pending update for tests, with overrides.
 * @example
 * ```ts
 * await cache.putPendingUpdate(pendingUpdate({ roundId: 'r2' }));
 * ```
 */
export function pendingUpdate(over: Partial<PendingUpdate> = {}): PendingUpdate {
  return {
    clientId: 'c1',
    sessionId: 's1',
    taskId: 't1',
    roundId: 'r1',
    uploadId: 'u1',
    bytes: new Uint8Array([1, 2, 3, 4]).buffer,
    sha256: sha('a'),
    numExamples: 10,
    metrics: { loss: 0.5 },
    trainMs: 12,
    f32Bytes: 16,
    deadline: 1_900_000_000_000,
    storedAt: 1,
    ...over,
  };
}

/**
 * A `task.train` message for tests.
 * @example
 * ```ts
 * await cache.putPendingTask({ clientId: 'c1', task: trainTask('r7'), storedAt: 0 });
 * ```
 */
export function trainTask(roundId = 'r1'): MessageOf<'task.train'> {
  const ref = { id: 'm1', sha256: sha('b'), url: '/api/models/m1', bytes: 4 };
  return {
    v: 2,
    kind: 'task.train',
    taskId: 't1',
    sessionId: 's1',
    roundId,
    model: ref,
    package: { ...ref, id: 'p1', url: `/api/packages/${sha('b')}` },
    settings: { localEpochs: 1, batchSize: 8, learningRate: 0.1, encoding: 'int8', strategy: {}, extra: {} },
    deadline: 1_900_000_000_000,
  };
}

/**
 * @param open opens the cache; `persistent` says whether a second `open()` sees the first one's data.
 * @example
 * ```ts
 * runCacheContract('memory', async () => createMemoryCache(), false);
 * ```
 */
export function runCacheContract(name: string, open: () => Promise<ClientCache>, persistent: boolean): void {
  describe(`ClientCache contract: ${name}`, () => {
    it('misses return undefined, never throw', async () => {
      const c = await open();
      expect(await c.getPackage(sha('f'))).toBeUndefined();
      expect(await c.getPendingUpdate('nobody')).toBeUndefined();
      expect(await c.getPendingTask('nobody')).toBeUndefined();
      expect(await c.getResidual('nothing')).toBeUndefined();
      expect(await c.getBackend('nothing')).toBeUndefined();
      await c.deletePendingUpdate('nobody');
      await c.deletePendingTask('nobody');
      await c.deleteResidual('nothing');
      await c.close();
    });

    it('keeps the client id' + (persistent ? ' across reopen' : ''), async () => {
      const c = await open();
      await c.setClientId('c-123');
      expect(await c.getClientId()).toBe('c-123');
      await c.close();
      if (persistent) {
        const c2 = await open();
        expect(await c2.getClientId()).toBe('c-123');
        await c2.close();
      }
    });

    it('stores packages by hash and returns buffers the caller owns', async () => {
      const c = await open();
      const code = new TextEncoder().encode('export const createModel = () => 1;').buffer;
      const manifest = { name: 'p', version: '1', sha256: sha('c'), bytes: code.byteLength, entry: { createModel: 'createModel', train: 'train', validate: 'validate' }, settings: { lr: 0.1 } };
      await c.putPackage({ sha256: sha('c'), code, manifest, storedAt: 5 });
      const got = await c.getPackage(sha('c'));
      expect(got?.manifest).toEqual(manifest);
      expect(new TextDecoder().decode(got!.code)).toBe('export const createModel = () => 1;');
      // Transferring (detaching) the returned buffer must not affect the cached one.
      structuredClone(got!.code, { transfer: [got!.code] });
      expect((await c.getPackage(sha('c')))!.code.byteLength).toBe(code.byteLength);
      await c.close();
    });

    it('keeps only the latest model' + (persistent ? ', across reopen' : ''), async () => {
      const c = await open();
      await c.putModel({ id: 'm1', sha256: sha('1'), bytes: new Float32Array([1, 2]).buffer, storedAt: 1 });
      await c.putModel({ id: 'm2', sha256: sha('2'), bytes: new Float32Array([3, 4, 5]).buffer, storedAt: 2 });
      const m = await c.getModel();
      expect(m?.id).toBe('m2');
      expect(Array.from(new Float32Array(m!.bytes))).toEqual([3, 4, 5]);
      await c.close();
      if (persistent) {
        const c2 = await open();
        expect((await c2.getModel())?.sha256).toBe(sha('2'));
        await c2.close();
      }
    });

    it('keeps a pending update per client and deletes it only for the matching upload id', async () => {
      const c = await open();
      await c.putPendingUpdate(pendingUpdate());
      await c.putPendingUpdate(pendingUpdate({ clientId: 'c2', uploadId: 'u9' }));
      const got = await c.getPendingUpdate('c1');
      expect(got).toMatchObject({ roundId: 'r1', uploadId: 'u1', numExamples: 10, metrics: { loss: 0.5 } });
      expect(Array.from(new Uint8Array(got!.bytes))).toEqual([1, 2, 3, 4]);
      await c.deletePendingUpdate('c1', 'other-upload');
      expect(await c.getPendingUpdate('c1')).toBeDefined();
      await c.deletePendingUpdate('c1', 'u1');
      expect(await c.getPendingUpdate('c1')).toBeUndefined();
      expect((await c.getPendingUpdate('c2'))?.uploadId).toBe('u9');
      await c.close();
      if (persistent) {
        const c2 = await open();
        expect((await c2.getPendingUpdate('c2'))?.uploadId).toBe('u9');
        await c2.close();
      }
    });

    it('keeps a pending task and deletes it only for the matching round', async () => {
      const c = await open();
      await c.putPendingTask({ clientId: 'c1', task: trainTask('r7'), storedAt: 3 });
      expect((await c.getPendingTask('c1'))?.task).toEqual(trainTask('r7'));
      await c.deletePendingTask('c1', 'r8');
      expect(await c.getPendingTask('c1')).toBeDefined();
      await c.deletePendingTask('c1', 'r7');
      expect(await c.getPendingTask('c1')).toBeUndefined();
      await c.close();
    });

    it('keeps backend decisions and residuals by key', async () => {
      const c = await open();
      const report = { chosen: 'wasm' as const, candidates: { wasm: '3000 ex/s', webgpu: '250 ex/s' }, cached: false };
      await c.putBackend({ key: `${sha('d')}|Mozilla/5.0 (X11)|8`, report, storedAt: 1 });
      expect((await c.getBackend(`${sha('d')}|Mozilla/5.0 (X11)|8`))?.report).toEqual(report);
      expect(await c.getBackend(`${sha('d')}|other device`)).toBeUndefined();
      await c.putResidual({ key: 'topk|c1|s1', data: new Float32Array([0.5, -1, 0]), storedAt: 1 });
      const r = await c.getResidual('topk|c1|s1');
      expect(r?.data).toBeInstanceOf(Float32Array);
      expect(Array.from(r!.data)).toEqual([0.5, -1, 0]);
      await c.deleteResidual('topk|c1|s1');
      expect(await c.getResidual('topk|c1|s1')).toBeUndefined();
      await c.close();
    });
  });
}
