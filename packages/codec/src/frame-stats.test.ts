import { describe, expect, it } from 'vitest';
import { decodeFrame } from './frame.js';
import { encodeFrame } from './frame-encode.js';
import { frameStats } from './frame-stats.js';
import { fflateCompressor } from './compress.js';
import { createRng } from './prng.js';

/** The reference: decode to f32, then sum of squares and max |v| in float64. */
async function reference(frame: Uint8Array): Promise<{ sumSq: number; maxAbs: number }> {
  let sumSq = 0;
  let maxAbs = 0;
  for (const t of await decodeFrame(frame, { compressor: fflateCompressor })) {
    for (const v of t.data) {
      sumSq += v * v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
  }
  return { sumSq, maxAbs };
}

describe('frameStats', () => {
  const rng = createRng(7);
  const data = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * scale);
  const tensors = [
    { name: 'w', shape: [3, 300], data: data(900, 2) },
    { name: 'b', shape: [5], data: data(5, 40) },
  ];
  for (const encoding of ['f32', 'int8', 'int4', 'topk'] as const) {
    it(`reads the sum of squares and max |v| of a ${encoding} frame (deflated) from its payload, as decoding would`, async () => {
      const frame = await encodeFrame(tensors, { encoding, blockSize: 64, compressor: fflateCompressor });
      const got = await frameStats(frame, { compressor: fflateCompressor });
      const want = await reference(frame);
      // Decoding rounds each scale * q to float32; the payload read does not: equal to float32 precision.
      expect(Math.abs(got.sumSq - want.sumSq) / want.sumSq).toBeLessThan(1e-6);
      expect(Math.abs(got.maxAbs - want.maxAbs) / want.maxAbs).toBeLessThan(1e-6);
      expect(got.sumSq).toBeGreaterThan(0);
    });
  }
  it('refuses what decoding refuses (a non-finite value)', async () => {
    const frame = await encodeFrame([{ name: 'a', shape: [2], data: new Float32Array([1, 2]) }]);
    const bad = frame.slice();
    new DataView(bad.buffer).setFloat32(bad.length - 4, Number.POSITIVE_INFINITY, true);
    await expect(frameStats(bad)).rejects.toMatchObject({ code: 'NON_FINITE' });
  });
});
