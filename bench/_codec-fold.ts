/**
 * The fold keys of `npm run bench -- codec` (like with like, measured in the same run):
 *  - fold_ratio: `foldInto` of the f32 frame (stored body: parse, validate, accumulate) / a plain
 *    `acc[i] += w * x[i]` loop over the same values as Float32Arrays: the codec's overhead on identical work.
 *  - fold_deflate_ratio: `foldInto` of the int8 + deflate frame, inflate (node:zlib) included / the same plain loop.
 *  - accumulation_f64_cost_ratio: the int8 + deflate fold into a Float64Array accumulator / into a Float32Array one.
 * Speeds are GB of f32 update per second (4 bytes per parameter), medians of several runs after warm-up.
 */
import { foldInto, type TensorSpec } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';

function baselineFold(acc: Float32Array, x: Float32Array, w: number): void {
  for (let i = 0; i < x.length; i++) acc[i] = acc[i]! + w * x[i]!;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface FoldFrames {
  f32: Uint8Array;
  int8: Uint8Array;
  int8z: Uint8Array;
  int4z: Uint8Array;
}

/** Times every fold variant over `flat` (the update as one Float32Array) and its frames. */
export async function foldKeys(flat: Float32Array, layout: TensorSpec[], frames: FoldFrames, runs: number, timeIt: (runs: number, fn: () => unknown) => Promise<number>) {
  const params = flat.length;
  const gb = (s: number) => (params * 4) / 1e9 / s;
  const acc = new Float32Array(params);
  const acc64 = new Float64Array(params);
  const z = { layout, compressor: nodeZlibCompressor };
  const base1 = await timeIt(runs, () => baselineFold(acc, flat, 0.5));
  const foldF32 = await timeIt(runs, () => foldInto(acc, frames.f32, 0.5, { layout }));
  const foldInt8 = await timeIt(runs, () => foldInto(acc, frames.int8, 0.5, { layout }));
  const foldZ = await timeIt(runs, () => foldInto(acc, frames.int8z, 0.5, z));
  const foldZ64 = await timeIt(runs, () => foldInto(acc64, frames.int8z, 0.5, z));
  const fold4Z = await timeIt(runs, () => foldInto(acc, frames.int4z, 0.5, z));
  const base2 = await timeIt(runs, () => baselineFold(acc, flat, 0.5));
  const base = (base1 + base2) / 2;
  return {
    baseline_gb_s: round(gb(base), 3),
    fold_f32_gb_s: round(gb(foldF32), 3),
    fold_ratio: round(base / foldF32, 3),
    fold_int8_gb_s: round(gb(foldInt8), 3),
    fold_deflate_gb_s: round(gb(foldZ), 3),
    fold_deflate_ratio: round(base / foldZ, 3),
    fold_deflate_ms: round(foldZ * 1000, 2),
    fold_deflate_f64_gb_s: round(gb(foldZ64), 3),
    accumulation_f64_cost_ratio: round(foldZ64 / foldZ, 3),
    fold_int4_deflate_gb_s: round(gb(fold4Z), 3),
  };
}
