import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_BLOCK_SIZE, MAX_INT8_SCALE, dequantizeInt8, quantizeInt8, scaleForMaxAbs } from './quantize.js';

/** The documented bound: |x - x'| <= s/2, plus float32 rounding of q*s (relative 2^-24, absolute 2^-150). */
function withinBound(x: Float32Array, blockSize: number): { ok: boolean; worst: number } {
  const qz = quantizeInt8(x, blockSize);
  const y = dequantizeInt8(qz);
  let ok = true;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const s = qz.scales[Math.floor(i / blockSize)]!;
    const err = Math.abs(x[i]! - y[i]!);
    const bound = s / 2 + Math.abs(y[i]!) * 2 ** -24 + 2 ** -150;
    if (err > bound) ok = false;
    if (s > 0) worst = Math.max(worst, err / s);
  }
  return { ok, worst };
}

const f32Array = (max: number) =>
  fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-max), max: Math.fround(max) }), { minLength: 0, maxLength: 700 }).map((a) => Float32Array.from(a));

describe('quantizeInt8', () => {
  it('hand-computed: scale = maxabs/127, q rounds half away from zero, zero block stays zero', () => {
    const qz = quantizeInt8(new Float32Array([1.27, -0.635, 0.005, 0.015, 0, 0, 0, 0]), 4);
    expect(qz.scales[0]).toBe(Math.fround(1.27 / 127));
    // 1.27/0.01 = 127, -0.635/0.01 = -63.5 -> -64 (away from zero), 0.5 -> 1 (0.005/0.01 in f64 from f32 inputs is 0.49999... or 0.5)
    expect(qz.q[0]).toBe(127);
    expect(qz.q[1]).toBe(-64);
    expect(qz.q[3]).toBe(2);
    expect(qz.scales[1]).toBe(0);
    expect(Array.from(qz.q.subarray(4))).toEqual([0, 0, 0, 0]);
  });

  it('is symmetric: q(-x) = -q(x), including exact ties', () => {
    const x = new Float32Array([127, 0.5, 1.5, 2.5, -3.5, 10]);
    const a = quantizeInt8(x, 256);
    const b = quantizeInt8(x.map((v) => -v), 256);
    expect(a.scales[0]).toBe(1);
    expect(Array.from(a.q)).toEqual([127, 1, 2, 3, -4, 10]);
    expect(Array.from(b.q)).toEqual([-127, -1, -2, -3, 4, -10]);
  });

  it('rejects NaN and Infinity with NON_FINITE', () => {
    expect(() => quantizeInt8(new Float32Array([1, NaN]))).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    expect(() => quantizeInt8(new Float32Array([-Infinity]))).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    // A value whose scale would let -128 * s overflow float32.
    expect(() => quantizeInt8(new Float32Array([3.4e38]))).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    expect(() => quantizeInt8(new Float32Array([3.3e38]))).not.toThrow();
  });

  it('keeps subnormal blocks exact (scale never underflows to 0 for a non-zero block)', () => {
    const tiny = Math.fround(2 ** -149);
    const x = new Float32Array([tiny, -3 * tiny, 0]);
    const qz = quantizeInt8(x);
    expect(qz.scales[0]).toBe(tiny);
    expect(Array.from(dequantizeInt8(qz))).toEqual([tiny, -3 * tiny, 0]);
  });

  it('caps scales so any int8 times any accepted scale is finite', () => {
    expect(Number.isFinite(Math.fround(-128 * MAX_INT8_SCALE))).toBe(true);
    expect(scaleForMaxAbs(0)).toBe(0);
  });

  it('property: |x - deq(q(x))| <= scale/2 for any finite input and block size', () => {
    fc.assert(
      fc.property(f32Array(1e6), fc.integer({ min: 1, max: 300 }), (x, bs) => withinBound(x, bs).ok),
      { numRuns: 300 },
    );
    fc.assert(fc.property(f32Array(3e38), (x) => withinBound(x, DEFAULT_BLOCK_SIZE).ok), { numRuns: 100 });
  });

  it('property: the block maxabs decodes to itself up to float32 rounding, and q stays in [-127, 127]', () => {
    fc.assert(
      fc.property(f32Array(1e3), (x) => {
        const qz = quantizeInt8(x, 64);
        const y = dequantizeInt8(qz);
        for (let b = 0; b * 64 < x.length; b++) {
          let m = 0;
          let at = -1;
          for (let i = b * 64; i < Math.min(x.length, (b + 1) * 64); i++) if (Math.abs(x[i]!) > m) (m = Math.abs(x[i]!)), (at = i);
          // Subnormal scales (maxabs < 127 * 2^-126) have too few bits for this; the s/2 bound above still holds.
          if (at >= 0 && m >= 127 * 2 ** -126 && Math.abs(Math.abs(y[at]!) - m) > m * 2 ** -22) return false;
        }
        return qz.q.every((v) => v >= -127 && v <= 127);
      }),
      { numRuns: 200 },
    );
  });

  it('has a worst-case error close to scale/2 on dense random data (the bound is tight)', () => {
    const x = Float32Array.from({ length: 100_000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
    const { ok, worst } = withinBound(x, 256);
    expect(ok).toBe(true);
    expect(worst).toBeGreaterThan(0.49);
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-6);
  });
});
