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
 */
import { fedError } from './errors.js';
import { F32_MAX } from './bytes.js';

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

/** The stored scale for a block with the given maxabs (see the module comment). */
export function scaleForMaxAbs(maxAbs: number): number {
  if (maxAbs === 0) return 0;
  let s = Math.fround(maxAbs / 127);
  // maxAbs < 127 * 2^-150: the quotient underflows; every such block is a multiple of 2^-149 and <= 127 of them.
  if (s === 0) s = MIN_F32;
  // Subnormal scales are coarse: if round(maxAbs / s) would pass 127, take the next float32 up (then maxAbs/s < 127).
  if (maxAbs > 127.5 * s) s = Math.fround(s + MIN_F32);
  if (!(s <= MAX_INT8_SCALE)) throw fedError('NON_FINITE', `value ${maxAbs} is too large for int8 encoding`);
  return s;
}

/** Number of blocks covering `n` values. */
export function blockCount(n: number, blockSize: number): number {
  return Math.ceil(n / blockSize);
}

function checkBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw fedError('BAD_CONFIG', `blockSize must be an integer in [1, ${MAX_BLOCK_SIZE}], got ${blockSize}`);
  }
}

/**
 * Quantizes `x` block-wise to int8. `out` lets the frame encoder write straight into a frame body.
 * Throws `NON_FINITE` on NaN/Infinity.
 *
 * @example
 * ```ts
 * const { scales, q } = quantizeInt8(new Float32Array([0.5, -1, 0.25]), 256);
 * // scales = [1/127], q = [64, -127, 32]; dequantizeInt8({ blockSize: 256, scales, q }) ≈ [0.504, -1, 0.252]
 * ```
 */
export function quantizeInt8(
  x: Float32Array,
  blockSize: number = DEFAULT_BLOCK_SIZE,
  out?: { scales: Float32Array; q: Int8Array },
): Int8Quantized {
  checkBlockSize(blockSize);
  const n = x.length;
  const nb = blockCount(n, blockSize);
  const scales = out?.scales ?? new Float32Array(nb);
  const q = out?.q ?? new Int8Array(n);
  if (scales.length !== nb || q.length !== n) throw fedError('INTERNAL', 'quantizeInt8: output arrays have the wrong length');
  for (let b = 0; b < nb; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    let m = 0;
    let z = 0; // stays 0 unless some value is NaN or ±Infinity (v * 0 is NaN for those)
    for (let i = start; i < end; i++) {
      const v = x[i]!;
      z += v * 0;
      const a = v < 0 ? -v : v;
      if (a > m) m = a;
    }
    if (z !== 0) throw fedError('NON_FINITE', `NaN or Infinity in block ${b} (values ${start}..${end - 1})`);
    const s = scaleForMaxAbs(m);
    scales[b] = s;
    if (s === 0) {
      q.fill(0, start, end);
      continue;
    }
    for (let i = start; i < end; i++) {
      const r = x[i]! / s;
      // Round half away from zero; |r| <= 127 * (1 + 2^-24) since s is maxabs/127 rounded, so the clamp
      // costs at most 127 * s * 2^-24, far inside the s/2 bound.
      let v = r >= 0 ? Math.floor(r + 0.5) : -Math.floor(0.5 - r);
      if (v > 127) v = 127;
      else if (v < -127) v = -127;
      q[i] = v;
    }
  }
  return { blockSize, scales, q };
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
