import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dequantizeInt4, foldInt4, int4At, int4Stats, quantizeInt4 } from './quantize-int4.js';
import { dequantizeInt8, quantizeInt8 } from './quantize.js';
import { createRng } from './prng.js';
import { encodeFrame } from './frame-encode.js';
import { decodeFrame, readFrameHeader } from './frame.js';
import { foldInto } from './fold.js';
import { frameStats } from './frame-stats.js';
import { fflateCompressor } from './compress.js';

const f32Array = (max: number, maxLength = 700) =>
  fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-max), max: Math.fround(max) }), { minLength: 0, maxLength }).map((a) => Float32Array.from(a));

/** Largest |x - x'| / bound over `x`, where bound = `factor * s` plus the float32 rounding of q*s. */
function worstOverBound(x: Float32Array, y: Float32Array, scales: Float32Array, blockSize: number, factor: number): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const s = scales[Math.floor(i / blockSize)]!;
    const bound = factor * s + Math.abs(y[i]!) * 2 ** -24 + 2 ** -150;
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / bound);
  }
  return worst;
}

describe('quantizeInt4', () => {
  it('hand-computed: scale = maxabs/7, ties away from zero, two\'s-complement nibbles, low nibble first', () => {
    const qz = quantizeInt4(new Float32Array([7, -3.5, 1]), 256);
    expect(qz.scales[0]).toBe(1);
    expect([0, 1, 2].map((i) => int4At(qz.packed, i))).toEqual([7, -4, 1]);
    // 7 -> 0x7 (low), -4 -> 0xc (high); 1 -> 0x1 (low), padding high nibble 0.
    expect(Array.from(qz.packed)).toEqual([0xc7, 0x01]);
    expect(Array.from(dequantizeInt4(qz))).toEqual([7, -4, 1].map((q) => Math.fround(q * qz.scales[0]!)));
  });

  it('a zero block stays zero and has scale 0', () => {
    const qz = quantizeInt4(new Float32Array([0, 0, 0, 0, 1, -1]), 4);
    expect(Array.from(qz.scales)).toEqual([0, Math.fround(1 / 7)]);
    expect(Array.from(dequantizeInt4(qz).subarray(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it('property: |x - deq(q(x))| <= scale/2 per block with round-to-nearest', () => {
    fc.assert(
      fc.property(f32Array(1e30), fc.integer({ min: 1, max: 300 }), (x, bs) => {
        const qz = quantizeInt4(x, bs);
        return worstOverBound(x, dequantizeInt4(qz), qz.scales, bs, 0.5) <= 1;
      }),
      { numRuns: 300 },
    );
  });

  it('property: |x - deq(q(x))| < scale per block with stochastic rounding (int4 and int8)', () => {
    fc.assert(
      fc.property(f32Array(1e6), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (x, bs, seed) => {
        const q4 = quantizeInt4(x, bs, undefined, { rounding: 'stochastic', rng: createRng(seed) });
        const q8 = quantizeInt8(x, bs, undefined, { rounding: 'stochastic', rng: createRng(seed) });
        return worstOverBound(x, dequantizeInt4(q4), q4.scales, bs, 1) <= 1 && worstOverBound(x, dequantizeInt8(q8), q8.scales, bs, 1) <= 1;
      }),
      { numRuns: 200 },
    );
  });

  it('stochastic rounding is unbiased: the mean of many seeded draws is within a Hoeffding bound of x', () => {
    // Each draw of x' lies in an interval of width s around x, so by Hoeffding P(|mean - x| >= t) <= 2 exp(-2 N t^2 / s^2).
    // N = 4000, t = s/16: 2 exp(-31) ~ 7e-14 per value; with seeded generators the test is deterministic anyway.
    const x = new Float32Array([0.7, -0.33, 0.05, 0.123, -0.61, 0.0071, 0.25, -0.5]);
    const N = 4000;
    const sum4 = new Float64Array(x.length);
    const sum8 = new Float64Array(x.length);
    const rng = createRng(12345);
    let s4 = 0;
    let s8 = 0;
    for (let d = 0; d < N; d++) {
      const q4 = quantizeInt4(x, 256, undefined, { rounding: 'stochastic', rng });
      const q8 = quantizeInt8(x, 256, undefined, { rounding: 'stochastic', rng });
      s4 = q4.scales[0]!;
      s8 = q8.scales[0]!;
      dequantizeInt4(q4).forEach((v, i) => (sum4[i] = sum4[i]! + v));
      dequantizeInt8(q8).forEach((v, i) => (sum8[i] = sum8[i]! + v));
    }
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(sum4[i]! / N - x[i]!)).toBeLessThan(s4 / 16);
      expect(Math.abs(sum8[i]! / N - x[i]!)).toBeLessThan(s8 / 16);
    }
    // Round-to-nearest of a value a third of a step above a grid point is biased by that third; stochastic is not.
    const nearest = dequantizeInt4(quantizeInt4(x, 256));
    expect(Math.max(...x.map((v, i) => Math.abs(nearest[i]! - v)))).toBeGreaterThan(s4 / 16);
  });

  it('stochastic rounding is reproducible from its seed', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const a = quantizeInt4(x, 64, undefined, { rounding: 'stochastic', rng: createRng(9) });
    const b = quantizeInt4(x, 64, undefined, { rounding: 'stochastic', rng: createRng(9) });
    const c = quantizeInt4(x, 64, undefined, { rounding: 'stochastic', rng: createRng(10) });
    expect(b.packed).toEqual(a.packed);
    expect(c.packed).not.toEqual(a.packed);
  });

  it('rejects NaN/Infinity, stochastic without an rng, and bad block sizes', () => {
    expect(() => quantizeInt4(new Float32Array([1, NaN]))).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    expect(() => quantizeInt4(new Float32Array([1]), 256, undefined, { rounding: 'stochastic' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => quantizeInt4(new Float32Array([1]), 0)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });

  it('foldInt4 and int4Stats agree with the dequantized values (odd block sizes and offsets too)', () => {
    fc.assert(
      fc.property(f32Array(100, 300), fc.integer({ min: 1, max: 40 }), fc.double({ min: -3, max: 3, noNaN: true }), (x, bs, w) => {
        const qz = quantizeInt4(x, bs);
        const y = dequantizeInt4(qz);
        const acc = new Float64Array(x.length + 3);
        foldInt4(acc, 3, x.length, bs, qz.scales, qz.packed, w);
        const st = int4Stats(x.length, bs, qz.scales, qz.packed);
        let sumSq = 0;
        let maxAbs = 0;
        for (let i = 0; i < x.length; i++) {
          const expected = w * qz.scales[Math.floor(i / bs)]! * int4At(qz.packed, i);
          if (acc[3 + i] !== expected) return false;
          sumSq += y[i]! * y[i]!;
          maxAbs = Math.max(maxAbs, Math.abs(y[i]!));
        }
        return Math.abs(st.sumSq - sumSq) <= 1e-6 * sumSq && Math.abs(st.maxAbs - maxAbs) <= 1e-6 * maxAbs;
      }),
      { numRuns: 200 },
    );
  });
});

describe('int4 frames', () => {
  const tensors = [
    { name: 'w', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => Math.cos(i) * 0.1) },
    { name: 'b', shape: [3], data: new Float32Array([0.5, -0.25, 0]) },
  ];

  it('round-trips through encodeFrame/decodeFrame within scale/2, deflated or not, and folds the decoded values', async () => {
    for (const compressor of [undefined, fflateCompressor]) {
      const frame = await encodeFrame(tensors, { encoding: 'int4', blockSize: 4, ...(compressor ? { compressor } : {}) });
      const h = readFrameHeader(frame);
      expect(h.tensors.map((t) => [t.encoding, t.byteLength])).toEqual([['int4', 4 * 4 + 8], ['int4', 4 + 2]]);
      const out = await decodeFrame(frame, compressor ? { compressor } : {});
      for (let t = 0; t < tensors.length; t++) {
        const q = quantizeInt4(tensors[t]!.data, 4);
        expect(out[t]!.data).toEqual(dequantizeInt4(q));
      }
      const acc = new Float32Array(18);
      await foldInto(acc, frame, 2, { layout: tensors.map(({ name, shape }) => ({ name, shape })), ...(compressor ? { compressor } : {}) });
      expect(Array.from(acc)).toEqual([...out[0]!.data, ...out[1]!.data].map((v) => Math.fround(2 * v)));
      const st = await frameStats(frame, compressor ? { compressor } : {});
      expect(st.maxAbs).toBeCloseTo(0.5, 6);
    }
  });

  it('refuses a non-zero padding nibble and an out-of-range scale', async () => {
    const frame = await encodeFrame([{ name: 'b', shape: [3], data: new Float32Array([0.5, -0.25, 0.1]) }], { encoding: 'int4' });
    const h = readFrameHeader(frame);
    const bad = frame.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! | 0x10;
    await expect(decodeFrame(bad)).rejects.toMatchObject({ code: 'BAD_FRAME' });
    const inf = frame.slice();
    new DataView(inf.buffer).setFloat32(h.bodyOffset, Infinity, true);
    await expect(decodeFrame(inf)).rejects.toMatchObject({ code: 'NON_FINITE' });
    const big = frame.slice();
    new DataView(big.buffer).setFloat32(h.bodyOffset, 3e38 / 4, true);
    await expect(decodeFrame(big)).rejects.toMatchObject({ code: 'BAD_FRAME' });
  });

  it('stochastic frames are reproducible with a seed and top-k ignores the rounding option', async () => {
    const a = await encodeFrame(tensors, { encoding: 'int4', rounding: 'stochastic', seed: 3 });
    const b = await encodeFrame(tensors, { encoding: 'int4', rounding: 'stochastic', seed: 3 });
    expect(b).toEqual(a);
    const t1 = await encodeFrame(tensors, { encoding: 'topk', rounding: 'stochastic', seed: 3 });
    const t2 = await encodeFrame(tensors, { encoding: 'topk' });
    expect(t1).toEqual(t2);
  });
});
