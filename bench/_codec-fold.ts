/**
 * The fold keys of `npm run bench -- codec` (like with like, measured in the same run):
 *  - fold_ratio: `foldInto` of the f32 frame (stored body: parse, validate, accumulate) / a plain
 *    `acc[i] += w * x[i]` loop over the same values as Float32Arrays: the codec's overhead on identical work.
 *  - fold_deflate_ratio: `foldInto` of the int8 + deflate frame, inflate (node:zlib) included / the same plain loop.
 *  - accumulation_f64_cost_ratio: the int8 + deflate fold into a Float64Array accumulator / into a Float32Array one.
 * Speeds are GB of f32 update per second (4 bytes per parameter), medians of interleaved runs after warm-up, in
 * wall time; the `_cpu` keys are the same ratios in process CPU time (see the comment at the return).
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

/**
 * Times every fold variant over `flat` (the update as one Float32Array) and its frames. The variants run
 * interleaved (one of each per turn, after two warm-up turns) so that all see the same load on a shared machine;
 * each key is the median over the turns.
 */
export async function foldKeys(flat: Float32Array, layout: TensorSpec[], frames: FoldFrames, runs: number) {
  const params = flat.length;
  const gb = (s: number) => (params * 4) / 1e9 / s;
  const acc = new Float32Array(params);
  const acc64 = new Float64Array(params);
  const z = { layout, compressor: nodeZlibCompressor };
  const variants = {
    base: () => baselineFold(acc, flat, 0.5),
    f32: () => foldInto(acc, frames.f32, 0.5, { layout }),
    int8: () => foldInto(acc, frames.int8, 0.5, { layout }),
    int8z: () => foldInto(acc, frames.int8z, 0.5, z),
    int8z64: () => foldInto(acc64, frames.int8z, 0.5, z),
    int4z: () => foldInto(acc, frames.int4z, 0.5, z),
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]])) as Record<keyof typeof variants, number[]>;
  const cpuTimes = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]])) as Record<keyof typeof variants, number[]>;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  for (let turn = 0; turn < runs + 2; turn++) {
    for (const [k, fn] of Object.entries(variants) as [keyof typeof variants, () => unknown][]) {
      const c0 = cpu();
      const t0 = performance.now();
      await fn();
      if (turn >= 2) {
        times[k].push((performance.now() - t0) / 1000);
        cpuTimes[k].push(cpu() - c0);
      }
    }
  }
  const m = (k: keyof typeof variants) => median(times[k]);
  const c = (k: keyof typeof variants) => median(cpuTimes[k]);
  return {
    // CPU time of this process (every thread, so node:zlib's pool too): what the work costs, without the time a
    // loaded machine keeps the process waiting (which grows with an operation's length and biases wall ratios).
    fold_ratio_cpu: round(c('base') / c('f32'), 3),
    fold_deflate_ratio_cpu: round(c('base') / c('int8z'), 3),
    fold_deflate_cpu_ms: round(c('int8z') * 1000, 2),
    baseline_cpu_ms: round(c('base') * 1000, 2),
    baseline_gb_s: round(gb(m('base')), 3),
    fold_f32_gb_s: round(gb(m('f32')), 3),
    fold_ratio: round(m('base') / m('f32'), 3),
    fold_int8_gb_s: round(gb(m('int8')), 3),
    fold_deflate_gb_s: round(gb(m('int8z')), 3),
    fold_deflate_ratio: round(m('base') / m('int8z'), 3),
    fold_deflate_ms: round(m('int8z') * 1000, 2),
    fold_deflate_f64_gb_s: round(gb(m('int8z64')), 3),
    accumulation_f64_cost_ratio: round(m('int8z64') / m('int8z'), 3),
    fold_int4_deflate_gb_s: round(gb(m('int4z')), 3),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
