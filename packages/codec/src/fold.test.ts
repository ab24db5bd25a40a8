import { describe, expect, it } from 'vitest';
import { foldInto } from './fold.js';
import { encodeFrame } from './frame.js';
import { fflateCompressor } from './compress.js';

const layout = [
  { name: 'a', shape: [2, 2] },
  { name: 'b', shape: [3] },
];

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

  it('leaves acc untouched when the frame does not match the layout', async () => {
    const frame = await encodeFrame([{ name: 'a', shape: [4], data: new Float32Array(4) }]);
    const acc = new Float32Array(7).fill(1);
    await expect(foldInto(acc, frame, 1, { layout })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    expect(Array.from(acc)).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });
});
