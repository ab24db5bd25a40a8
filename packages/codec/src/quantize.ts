/**
 * Block-wise symmetric int8 quantization (absmax per block, as in Dettmers et al., "8-bit Optimizers via
 * Block-wise Quantization", ICLR 2022, with linear rather than dynamic codes).
 *
 * For each block of `blockSize` consecutive values the encoder stores one float32 scale
 * `s = fround(maxabs(block) / 127)` (for subnormal scales, rounded up far enough that `maxabs / s <= 127.5`) and one int8 per value `q = round(x / s)`, ties rounded half away from zero so that
 * `q(-x) = -q(x)`. A block of zeros has `s = 0` and all `q = 0`. Decoding is `x' = q * s`.
 *
 * **Error bound.** For every value, `|x - x'| <= s / 2` where `s` is its block's stored scale
 * (`s = maxabs(block)/127` rounded to float32), plus the float32 rounding of the product `q * s`
 * (relative `2^-24`, absolute `2^-150` for subnormals). Values equal to the block's maxabs decode exactly
 * up to that rounding. The bound is checked by property tests in `quantize.test.ts`.
 *
 * NaN and ±Infinity are rejected with `NON_FINITE`. So is a block whose maxabs exceeds
 * `127/128 * F32_MAX` (~3.37e38): its scale would let `-128 * s` overflow, and decoders refuse such scales.
 *
 * **Stochastic rounding** (`rounding: 'stochastic'`, with a seeded {@link Rng}): `q = floor(x / s + u)`, `u`
 * uniform in [0, 1), so `E[q * s] = x` (unbiased; Gupta et al., "Deep Learning with Limited Numerical
 * Precision", ICML 2015). The bound becomes `|x - x'| < s`. The same code serves `int4` (`quantize-int4.ts`)
 * through `qmax` = 7.
 */
import { fedError } from './errors.js';
import { F32_MAX } from './bytes.js';
import type { Rng } from './prng.js';

/** How values are rounded to the integer grid: to nearest (ties away from zero) or stochastically (unbiased). */
export type Rounding = 'nearest' | 'stochastic';

/** Rounding options shared by the int8 and int4 quantizers. */
export interface RoundingOptions {
  /** Default `nearest`. */
  rounding?: Rounding;
  /** Required for `stochastic`: the source of the uniform draws (a seeded `createRng` makes it reproducible). */
  rng?: Rng;
}

/** Default number of values sharing one scale. */
export const DEFAULT_BLOCK_SIZE = 256;
/** Largest block size a frame may declare. */
export const MAX_BLOCK_SIZE = 65536;
/** Largest scale a decoder accepts: any int8 in [-128, 127] times it stays a finite float32. */
export const MAX_INT8_SCALE = F32_MAX / 128;

/** An int8-quantized vector: one scale per block, one int8 per value. */
export interface Int8Quantized {
  blockSize: number;
  scales: Float32Array;
  q: Int8Array;
}

/** Smallest positive float32 (a subnormal): the scale of blocks whose maxabs/127 underflows. */
const MIN_F32 = 2 ** -149;

/**
 * The stored scale for a block with the given maxabs (see the module comment); `qmax` is 127 for int8, 7 for int4.
 * @example
 * ```ts
 * scaleForMaxAbs(1.27); // Math.fround(0.01)
 * ```
 */
export function scaleForMaxAbs(maxAbs: number, qmax = 127): number {
  if (maxAbs === 0) return 0;
  let s = Math.fround(maxAbs / qmax);
  // maxAbs < qmax * 2^-150: the quotient underflows; every such block is a multiple of 2^-149 and <= qmax of them.
  if (s === 0) s = MIN_F32;
  // Subnormal scales are coarse: if round(maxAbs / s) would pass qmax, take the next float32 up (then maxAbs/s < qmax).
  if (maxAbs > (qmax + 0.5) * s) s = Math.fround(s + MIN_F32);
  if (!(s <= F32_MAX / (qmax + 1))) throw fedError('NON_FINITE', `value ${maxAbs} is too large for ${qmax === 127 ? 'int8' : 'int4'} encoding`);
  return s;
}

/** Number of blocks covering `n` values. */
export function blockCount(n: number, blockSize: number): number {
  return Math.ceil(n / blockSize);
}

/** Throws `BAD_CONFIG` unless `blockSize` is an integer in [1, MAX_BLOCK_SIZE]. */
export function checkBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw fedError('BAD_CONFIG', `blockSize must be an integer in [1, ${MAX_BLOCK_SIZE}], got ${blockSize}`);
  }
}

/**
 * Quantizes `x` block-wise to int8. `out` lets the frame encoder write straight into a frame body.
 * Throws `NON_FINITE` on NaN/Infinity, `BAD_CONFIG` for `stochastic` without an `rng`.
 *
 * @example
 * ```ts
 * const { scales, q } = quantizeInt8(new Float32Array([0.5, -1, 0.25]), 256);
 * // scales = [1/127], q = [64, -127, 32]; dequantizeInt8({ blockSize: 256, scales, q }) ≈ [0.504, -1, 0.252]
 * const sr = quantizeInt8(x, 256, undefined, { rounding: 'stochastic', rng: createRng(7) }); // unbiased
 * ```
 */
export function quantizeInt8(
  x: Float32Array,
  blockSize: number = DEFAULT_BLOCK_SIZE,
  out?: { scales: Float32Array; q: Int8Array },
  opts: RoundingOptions = {},
): Int8Quantized {
  checkBlockSize(blockSize);
  const n = x.length;
  const nb = blockCount(n, blockSize);
  const scales = out?.scales ?? new Float32Array(nb);
  const q = out?.q ?? new Int8Array(n);
  if (scales.length !== nb || q.length !== n) throw fedError('INTERNAL', 'quantizeInt8: output arrays have the wrong length');
  quantizeBlocks(x, blockSize, 127, scales, opts, (start, end, s, rng) => {
    if (s === 0) q.fill(0, start, end);
    else if (rng) for (let i = start; i < end; i++) q[i] = roundStochastic(x[i]! / s, 127, rng.next());
    else for (let i = start; i < end; i++) q[i] = roundNearest(x[i]! / s, 127);
  });
  return { blockSize, scales, q };
}

/**
 * Shared block loop of the int8 and int4 quantizers: per block, checks finiteness, stores the scale for
 * `qmax`, then lets `emit` write the block's integers (`rng` set for stochastic rounding).
 */
export function quantizeBlocks(
  x: Float32Array,
  blockSize: number,
  qmax: number,
  scales: Float32Array,
  opts: RoundingOptions,
  emit: (start: number, end: number, s: number, rng: Rng | undefined) => void,
): void {
  const rounding = opts.rounding ?? 'nearest';
  if (rounding !== 'nearest' && rounding !== 'stochastic') throw fedError('BAD_CONFIG', `unknown rounding ${String(rounding)}`);
  if (rounding === 'stochastic' && !opts.rng) throw fedError('BAD_CONFIG', 'stochastic rounding needs an rng');
  const rng = rounding === 'stochastic' ? opts.rng : undefined;
  const n = x.length;
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const end = Math.min(start + blockSize, n);
    const m = blockMaxAbs(x, start, end);
    if (Number.isNaN(m)) throw fedError('NON_FINITE', `NaN or Infinity in block ${b} (values ${start}..${end - 1})`);
    const s = scaleForMaxAbs(m, qmax);
    scales[b] = s;
    emit(start, end, s, rng);
  }
}

/** max |x| over [start, end), or NaN if a value there is NaN or ±Infinity. */
function blockMaxAbs(x: Float32Array, start: number, end: number): number {
  let m = 0;
  let z = 0; // stays 0 unless some value is NaN or ±Infinity (v * 0 is NaN for those)
  for (let i = start; i < end; i++) {
    const v = x[i]!;
    z += v * 0;
    const a = v < 0 ? -v : v;
    if (a > m) m = a;
  }
  return z === 0 ? m : NaN;
}

/**
 * Round half away from zero, clamped to [-qmax, qmax]. |r| <= qmax * (1 + 2^-24) since s is maxabs/qmax
 * rounded, so the clamp costs at most qmax * s * 2^-24, far inside the s/2 bound.
 */
export function roundNearest(r: number, qmax: number): number {
  const v = r >= 0 ? Math.floor(r + 0.5) : -Math.floor(0.5 - r);
  return v > qmax ? qmax : v < -qmax ? -qmax : v;
}

/** floor(r + u) for u uniform in [0, 1): E = r (unbiased) for |r| <= qmax; clamped like {@link roundNearest}. */
export function roundStochastic(r: number, qmax: number, u: number): number {
  const v = Math.floor(r + u);
  return v > qmax ? qmax : v < -qmax ? -qmax : v;
}

/**
 * Dequantizes block-wise int8 back to float32 (`x' = q * s`).
 *
 * @example
 * ```ts
 * const x2 = dequantizeInt8(quantizeInt8(x)); // |x - x2| <= scale/2 per value
 * ```
 */
export function dequantizeInt8(qz: Int8Quantized, out?: Float32Array): Float32Array {
  const { blockSize, scales, q } = qz;
  checkBlockSize(blockSize);
  const n = q.length;
  if (scales.length !== blockCount(n, blockSize)) throw fedError('BAD_FRAME', `${scales.length} scales for ${n} values in blocks of ${blockSize}`);
  const x = out ?? new Float32Array(n);
  if (x.length !== n) throw fedError('INTERNAL', 'dequantizeInt8: output has the wrong length');
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const s = scales[b]!;
    const end = Math.min(start + blockSize, n);
    for (let i = start; i < end; i++) x[i] = q[i]! * s;
  }
  return x;
}
