import { describe, expect, it } from 'vitest';
import { encodeFrame, isFedError } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createFoldTools } from './fold-tools.js';
import { decodePartial, encodePartial } from './partial-codec.js';

const code = (e: unknown) => (isFedError(e) ? e.code : String(e));

describe('encodePartial / decodePartial', () => {
  it('round-trips tensors and scalars exactly (f32, with or without deflate)', async () => {
    const partial = { count: 3, weight: 7.5, tensors: { sum: Float32Array.from([1.5, -2, 3e-8]), csum: Float32Array.from([0, 1, 2]) }, scalars: { clipped: 1, n0: 4 } };
    for (const opts of [{}, { compressor: nodeZlibCompressor }]) {
      const enc = await encodePartial(partial, opts);
      expect(enc).toMatchObject({ count: 3, totalWeight: 7.5, scalars: { clipped: 1, n0: 4 } });
      const back = await decodePartial(enc, { ...opts, tensorLength: 3 });
      expect(back.count).toBe(3);
      expect(back.weight).toBe(7.5);
      expect(Array.from(back.tensors.sum!)).toEqual(Array.from(partial.tensors.sum));
      expect(Array.from(back.tensors.csum!)).toEqual([0, 1, 2]);
    }
  });

  it('refuses bad metadata, wrong tensor sizes and non-1-D tensors', async () => {
    const enc = await encodePartial({ count: 1, weight: 1, tensors: { sum: new Float32Array(3) }, scalars: {} });
    await expect(decodePartial({ ...enc, count: -1 })).rejects.toSatisfy((e) => code(e) === 'BAD_MESSAGE');
    await expect(decodePartial({ ...enc, totalWeight: Number.NaN })).rejects.toSatisfy((e) => code(e) === 'BAD_MESSAGE');
    await expect(decodePartial({ ...enc, scalars: { x: Infinity } })).rejects.toSatisfy((e) => code(e) === 'BAD_MESSAGE');
    await expect(decodePartial(enc, { tensorLength: 4 })).rejects.toSatisfy((e) => code(e) === 'SHAPE_MISMATCH');
    const twoD = await encodeFrame([{ name: 'sum', shape: [1, 3], data: new Float32Array(3) }]);
    await expect(decodePartial({ ...enc, frame: twoD })).rejects.toSatisfy((e) => code(e) === 'SHAPE_MISMATCH');
  });
});

describe('createFoldTools', () => {
  const layout = [{ name: 'w0', shape: [2, 2] }, { name: 'w1', shape: [2] }];
  const t = (name: string, shape: number[], v = 1) => ({ name, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v) });

  it('folds acc += weight · delta through the codec', async () => {
    const tools = createFoldTools({ layout });
    const acc = new Float32Array(6);
    await tools.foldInto(acc, await encodeFrame([t('w0', [2, 2], 1), t('w1', [2], 2)]), 3);
    expect(Array.from(acc)).toEqual([3, 3, 3, 3, 6, 6]);
  });

  it('decodes layout tensors first, then c/<name> extras with the same shapes', async () => {
    const tools = createFoldTools({ layout });
    const out = await tools.decode(await encodeFrame([t('c/w1', [2], 5), t('w1', [2]), t('w0', [2, 2])]));
    expect(out.map((x) => x.name)).toEqual(['w0', 'w1', 'c/w1']);
  });

  it('refuses unknown, misshapen, duplicated or missing tensors with SHAPE_MISMATCH', async () => {
    const tools = createFoldTools({ layout });
    const cases = [
      [t('w0', [2, 2]), t('w1', [2]), t('x/w1', [2])],
      [t('w0', [2, 2]), t('w1', [2]), t('c/w1', [3])],
      [t('w0', [2, 2]), t('w1', [2]), t('c/nope', [2])],
      [t('w0', [2, 2])],
      [t('w0', [4]), t('w1', [2])],
    ];
    for (const tensors of cases) {
      await expect(tools.decode(await encodeFrame(tensors))).rejects.toSatisfy((e) => code(e) === 'SHAPE_MISMATCH');
    }
    await expect(createFoldTools({ layout, extraPrefixes: [] }).decode(await encodeFrame([t('w0', [2, 2]), t('w1', [2]), t('c/w1', [2])]))).rejects.toSatisfy(
      (e) => code(e) === 'SHAPE_MISMATCH',
    );
  });
});
