import { describe, expect, it } from 'vitest';
import { foldInto } from './fold.js';
import { decodeFrame, readFrameHeader } from './frame.js';
import { encodeFrame } from './frame-encode.js';
import { fflateCompressor } from './compress.js';
import { nodeZlibCompressor } from './node.js';
import { flattenTensors } from './layout.js';
import type { NamedTensor } from './types.js';

const layout = [
  { name: 'a', shape: [2, 2] },
  { name: 'b', shape: [3] },
];

const big = (): NamedTensor[] => [
  { name: 'w0', shape: [30, 20], data: Float32Array.from({ length: 600 }, (_, i) => Math.sin(i) * (1 + (i % 13))) },
  { name: 'w1', shape: [20], data: Float32Array.from({ length: 20 }, (_, i) => i - 10) },
  { name: 'w2', shape: [300], data: Float32Array.from({ length: 300 }, (_, i) => Math.cos(i * 0.3) / 100) },
];
const bigLayout = big().map(({ name, shape }) => ({ name, shape }));

describe('foldInto', () => {
  it('adds weight * f32 update into acc (hand-computed)', async () => {
    const frame = await encodeFrame([
      { name: 'a', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'b', shape: [3], data: new Float32Array([-1, 0.5, 0]) },
    ], { compressor: fflateCompressor });
    const acc = new Float32Array([1, 1, 1, 1, 1, 1, 1]);
    await foldInto(acc, frame, 2, { layout });
    expect(Array.from(acc)).toEqual([3, 5, 7, 9, -1, 2, 1]);
  });

  it('int8 fold (hand-computed): acc += w * q * scale', async () => {
    // scale = 2/127: 2 -> 127, -1 -> round(-63.5) = -64, 0.5 -> round(31.75) = 32
    const frame = await encodeFrame([{ name: 'x', shape: [3], data: new Float32Array([2, -1, 0.5]) }], { encoding: 'int8' });
    const acc = new Float32Array([10, 10, 10]);
    await foldInto(acc, frame, 3, { layout: [{ name: 'x', shape: [3] }] });
    const s = Math.fround(2 / 127);
    expect(Array.from(acc)).toEqual([Math.fround(10 + 3 * s * 127), Math.fround(10 - 3 * s * 64), Math.fround(10 + 3 * s * 32)]);
  });

  it('for every encoding, equals decoding then accumulating', async () => {
    for (const encoding of ['f32', 'int8', 'int4', 'topk'] as const) {
      for (const compressor of [undefined, nodeZlibCompressor]) {
        const frame = await encodeFrame(big(), { encoding, compressor, topkFraction: 0.2 });
        const acc = Float32Array.from({ length: 920 }, (_, i) => i / 100);
        const expected = acc.slice();
        const dense = flattenTensors(await decodeFrame(frame, { compressor }));
        for (let i = 0; i < expected.length; i++) expected[i] = expected[i]! + 0.75 * dense[i]!;
        await foldInto(acc, frame, 0.75, { layout: bigLayout, compressor });
        for (let i = 0; i < acc.length; i++) expect(Math.abs(acc[i]! - expected[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(expected[i]!)));
      }
    }
  });

  describe('never touches acc when anything in the frame is wrong', () => {
    const untouched = async (frame: Uint8Array, weight: number, code: string, l = bigLayout) => {
      const acc = Float32Array.from({ length: 920 }, (_, i) => i);
      await expect(foldInto(acc, frame, weight, { layout: l })).rejects.toMatchObject({ code });
      expect(acc.every((v, i) => v === i)).toBe(true);
    };

    it('a NaN scale in the last tensor', async () => {
      const frame = await encodeFrame(big(), { encoding: 'int8' });
      const h = readFrameHeader(frame);
      new DataView(frame.buffer).setFloat32(h.bodyOffset + h.tensors[2]!.byteOffset, NaN, true);
      await untouched(frame, 1, 'NON_FINITE');
    });

    it('an Infinity in the last f32 tensor', async () => {
      const frame = await encodeFrame(big());
      const h = readFrameHeader(frame);
      new DataView(frame.buffer).setFloat32(frame.length - 4, Infinity, true);
      expect(h.tensors[2]!.encoding).toBe('f32');
      await untouched(frame, 1, 'NON_FINITE');
    });

    it('an out-of-range top-k index in the last tensor', async () => {
      const t = big();
      t[2]!.data.fill(0);
      t[2]!.data[299] = 5; // the only non-zero: with k = 1 its gap (299) is the last varint, [0xab, 0x02]
      const frame = await encodeFrame(t, { encoding: 'topk', topkFraction: 1 / 300 });
      expect(readFrameHeader(frame).tensors[2]).toMatchObject({ k: 1 });
      expect(Array.from(frame.subarray(frame.length - 2))).toEqual([0xab, 0x02]);
      frame[frame.length - 2] = 0xac; // gap 300 -> index 300 >= n
      await untouched(frame, 1, 'BAD_FRAME');
    });

    it('a layout mismatch, a bomb, a bad weight, an overflow, a wrong acc', async () => {
      await untouched(await encodeFrame(big().slice(0, 2)), 1, 'SHAPE_MISMATCH');
      const { body } = { body: await nodeZlibCompressor.deflate(new Uint8Array(50_000_000)) };
      const frame = await encodeFrame(big(), { compressor: nodeZlibCompressor });
      const h = readFrameHeader(frame);
      const bombFrame = new Uint8Array(h.bodyOffset + body.length);
      bombFrame.set(frame.subarray(0, h.bodyOffset));
      bombFrame.set(body, h.bodyOffset);
      await untouched(bombFrame, 1, 'FRAME_TOO_LARGE');
      await untouched(frame, NaN, 'BAD_CONFIG');
      await untouched(frame, 1e38, 'NON_FINITE');
      await expect(foldInto(new Float32Array(919), frame, 1, { layout: bigLayout })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    });
  });
});
