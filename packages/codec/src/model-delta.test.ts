import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fflateCompressor } from './compress.js';
import { encodeFrame } from './frame-encode.js';
import { applyModelDelta, encodeModelDelta, weightsSha256 } from './model-delta.js';
import { scaleForMaxAbs } from './quantize.js';
import { readFrameHeader } from './frame.js';
import { sha256Hex } from './hash.js';
import type { TensorSpec } from './types.js';

const compressor = fflateCompressor;
const BLOCK = 16;

/** Two tensors splitting `n` values (the split makes blocks restart at the tensor boundary). */
function layoutOf(n: number): TensorSpec[] {
  const a = Math.floor(n / 3);
  return [
    { name: 'w0', shape: [a] },
    { name: 'w1', shape: [n - a] },
  ];
}

/**
 * The int8 scale of each value's block, as the encoder chose it: blocks of `BLOCK` values of the float32
 * difference `target - base`, restarting at each tensor.
 */
function scalesPerValue(target: Float32Array, base: Float32Array, layout: TensorSpec[]): Float64Array {
  const out = new Float64Array(target.length);
  let off = 0;
  for (const t of layout) {
    const n = t.shape[0]!;
    for (let b = 0; b < n; b += BLOCK) {
      let m = 0;
      const end = Math.min(n, b + BLOCK);
      for (let i = b; i < end; i++) m = Math.max(m, Math.abs(Math.fround(target[off + i]! - base[off + i]!)));
      const s = scaleForMaxAbs(m);
      for (let i = b; i < end; i++) out[off + i] = s;
    }
    off += n;
  }
  return out;
}

/** |target - recon| <= s/2 per value, plus the float32 roundings of the difference, of q*s and of the sum. */
function worstExcess(target: Float32Array, base: Float32Array, recon: Float32Array, layout: TensorSpec[]): number {
  const s = scalesPerValue(target, base, layout);
  let worst = -Infinity;
  for (let i = 0; i < target.length; i++) {
    const bound = s[i]! / 2 + 2 ** -22 * (Math.abs(target[i]!) + Math.abs(base[i]!)) + 2 ** -148;
    worst = Math.max(worst, Math.abs(target[i]! - recon[i]!) - bound);
  }
  return worst;
}

const f32 = (max: number) => fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-max), max: Math.fround(max) });
const model = (n: number, max: number) => fc.array(f32(max), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

describe('model deltas with download-side error feedback', () => {
  it('property: one step leaves the reconstruction within half an int8 step of the exact model, per block', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 90 }).chain((n) => fc.tuple(model(n, 1e3), model(n, 1e3))),
        async ([target, base]) => {
          const layout = layoutOf(target.length);
          const { recon } = await encodeModelDelta(target, base, layout, { compressor, blockSize: BLOCK });
          expect(worstExcess(target, base, recon, layout)).toBeLessThanOrEqual(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('property: over many rounds the error stays bounded by the last step (no drift accumulates)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 64 }).chain((n) => fc.tuple(model(n, 10), fc.array(model(n, 0.5), { minLength: 2, maxLength: 12 }))),
        async ([start, steps]) => {
          const layout = layoutOf(start.length);
          const exact = Float32Array.from(start);
          let recon: Float32Array = Float32Array.from(start);
          for (const step of steps) {
            for (let i = 0; i < exact.length; i++) exact[i] = exact[i]! + step[i]!;
            const base = recon;
            recon = (await encodeModelDelta(exact, base, layout, { compressor, blockSize: BLOCK })).recon;
            expect(worstExcess(exact, base, recon, layout)).toBeLessThanOrEqual(0);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: a client applying the frame gets the server reconstruction bit for bit (same SHA-256)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 90 }).chain((n) => fc.tuple(model(n, 50), model(n, 50))),
        async ([target, base]) => {
          const layout = layoutOf(target.length);
          const step = await encodeModelDelta(target, base, layout, { compressor, blockSize: BLOCK });
          const client = await applyModelDelta(Float32Array.from(base), step.frame, layout, { compressor });
          expect(await weightsSha256(client)).toBe(await weightsSha256(step.recon));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the delta frame is int8 and deflated, named and shaped as the model', async () => {
    const n = 30_000;
    const layout = layoutOf(n);
    const base = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const target = base.map((v, i) => v + 0.01 * Math.cos(i * 7));
    const { frame } = await encodeModelDelta(target, base, layout, { compressor });
    const header = readFrameHeader(frame);
    expect(header.compressed).toBe(true);
    expect(header.tensors.map((t) => [t.name, t.encoding, t.shape])).toEqual([
      ['w0', 'int8', [10_000]],
      ['w1', 'int8', [20_000]],
    ]);
    // At most the int8 body (n bytes + scales) plus the header: about a quarter of the float32 model.
    expect(frame.byteLength).toBeLessThan(4 * n * 0.27);
  });

  it('weightsSha256 hashes the little-endian float32 bytes of the weights', async () => {
    const w = new Float32Array([1, -2.5, 3e-8]);
    expect(await weightsSha256(w)).toBe(await sha256Hex(new Uint8Array(w.buffer)));
    expect(await weightsSha256(w.subarray(1))).toBe(await sha256Hex(new Uint8Array(w.buffer, 4)));
  });

  it('refuses a delta whose tensors are not the model layout (SHAPE_MISMATCH)', async () => {
    const frame = await encodeFrame([{ name: 'w0', shape: [3], data: new Float32Array(3) }], { encoding: 'int8' });
    await expect(applyModelDelta(new Float32Array(3), frame, [{ name: 'x', shape: [3] }])).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(applyModelDelta(new Float32Array(4), frame, [{ name: 'w0', shape: [4] }])).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });
});
