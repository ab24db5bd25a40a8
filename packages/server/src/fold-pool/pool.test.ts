import { afterAll, describe, expect, it } from 'vitest';
import { createRng, encodeFrame, foldInto, type Encoding, type NamedTensor, type TensorSpec } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createFoldTools } from '../strategy/fold-tools.js';
import { FoldPool } from './pool.js';

const layout: TensorSpec[] = [
  { name: 'w', shape: [300, 70] },
  { name: 'b', shape: [7] },
];

function update(seed: number): NamedTensor[] {
  const rng = createRng(seed);
  return layout.map(({ name, shape }) => ({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() - 0.5) * 0.02) }));
}

const encodings: Encoding[] = ['int8', 'int4', 'f32', 'topk'];
const frames = await Promise.all(
  Array.from({ length: 12 }, (_, i) => encodeFrame(update(i + 1), { encoding: encodings[i % 4]!, ...(i % 3 === 0 ? {} : { compressor: nodeZlibCompressor }) })),
);
const weights = frames.map((_, i) => 1 + (i % 5) * 7.25);
const pool = new FoldPool({ size: 2 });
afterAll(() => pool.close());

/** Bitwise equality of two Float32Arrays (NaN-safe, -0 vs 0 distinguished). */
const sameBits = (a: Float32Array, b: Float32Array) => {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

async function referenceSum(): Promise<Float32Array> {
  const acc = new Float32Array(21_007);
  for (let i = 0; i < frames.length; i++) await foldInto(acc, frames[i]!, weights[i]!, { layout, compressor: nodeZlibCompressor });
  return acc;
}

describe('FoldPool', () => {
  it('folds through worker-parsed frames to the same bits as the single-thread fold, with the parses racing', async () => {
    const tools = createFoldTools({ layout, compressor: nodeZlibCompressor, parser: (f, l) => pool.parse(f, l) });
    // Screen every update at once (the workers finish in any order), then fold in order, as the combiner does.
    const stats = await Promise.all(frames.map((f) => tools.stats(f)));
    const acc = new Float32Array(21_007);
    for (let i = 0; i < frames.length; i++) await tools.foldInto(acc, frames[i]!, weights[i]!);
    expect(sameBits(acc, await referenceSum())).toBe(true);
    const plain = createFoldTools({ layout, compressor: nodeZlibCompressor });
    for (let i = 0; i < frames.length; i++) expect(stats[i]).toEqual(await plain.stats(frames[i]!));
  });

  it('parses each frame once: decode after stats uses the same parse and agrees with the in-thread decode', async () => {
    let calls = 0;
    const tools = createFoldTools({ layout, compressor: nodeZlibCompressor, parser: (f, l) => (calls++, pool.parse(f, l)) });
    const frame = frames[1]!;
    await tools.stats(frame);
    const decoded = await tools.decode(frame);
    await tools.foldInto(new Float32Array(21_007), frame, 1);
    expect(calls).toBe(1);
    expect(decoded).toEqual(await createFoldTools({ layout, compressor: nodeZlibCompressor }).decode(frame));
  });

  it("a bad frame is refused by the worker with the frame's own typed error", async () => {
    const bad = frames[6]!.slice();
    new DataView(bad.buffer).setFloat32(bad.length - 4, Number.NaN, true); // f32 frame, stored: last value NaN
    await expect(pool.parse(bad)).rejects.toMatchObject({ code: 'NON_FINITE' });
    const tools = createFoldTools({ layout, compressor: nodeZlibCompressor, parser: (f, l) => pool.parse(f, l) });
    await expect(tools.stats(bad)).rejects.toMatchObject({ code: 'NON_FINITE' });
    await expect(pool.parse(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'BAD_FRAME' });
  });

  it('a parse that times out fails with TIMEOUT, and the fold tools then parse on their own thread', async () => {
    const slow = new FoldPool({ size: 1, timeoutMs: 1 });
    try {
      await expect(slow.parse(frames[0]!)).rejects.toMatchObject({ code: 'TIMEOUT' });
      const tools = createFoldTools({ layout, compressor: nodeZlibCompressor, parser: (f, l) => slow.parse(f, l) });
      const acc = new Float32Array(21_007);
      for (let i = 0; i < frames.length; i++) await tools.foldInto(acc, frames[i]!, weights[i]!);
      expect(sameBits(acc, await referenceSum())).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('a closed pool refuses with UNAVAILABLE', async () => {
    const p = new FoldPool({ size: 1 });
    await p.close();
    await expect(p.parse(frames[0]!)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(() => new FoldPool({ size: 0 })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
