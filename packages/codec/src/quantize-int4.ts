/**
 * Block-wise symmetric int4 quantization: the int8 scheme of `quantize.ts` with 15 levels instead of 255.
 *
 * For each block of `blockSize` values: one float32 scale `s = fround(maxabs(block) / 7)` (subnormal scales
 * rounded up like int8's) and one signed 4-bit integer per value `q = round(x / s)` in [-7, 7], ties half away
 * from zero. Two values share a byte: value `2j` in the low nibble of byte `j`, value `2j+1` in the high nibble,
 * each as a two's-complement nibble (`q & 0xf`); an odd count leaves the last high nibble 0. Decoding is
 * `x' = q * s` with `q = (nibble << 28) >> 28`. The nibble -8 is never written; decoders accept it (so a
 * scale is bounded by `F32_MAX / 8`, {@link MAX_INT4_SCALE}).
 *
 * **Error bound.** `|x - x'| <= s / 2` per value with round-to-nearest, `< s` with stochastic rounding, plus the
 * float32 rounding of `q * s`; property-tested in `quantize-int4.test.ts`. Payload: 4 bytes per block + n/2.
 */
import { fedError } from './errors.js';
import { F32_MAX } from './bytes.js';
import { DEFAULT_BLOCK_SIZE, blockCount, checkBlockSize, quantizeBlocks, roundNearest, roundStochastic, type RoundingOptions } from './quantize.js';

/** Largest scale a decoder accepts: any nibble in [-8, 7] times it stays a finite float32. */
export const MAX_INT4_SCALE = F32_MAX / 8;

/** An int4-quantized vector: one scale per block, two values per byte (`n` of them). */
export interface Int4Quantized {
  blockSize: number;
  n: number;
  scales: Float32Array;
  /** ceil(n/2) bytes: value 2j in the low nibble of byte j, 2j+1 in the high nibble. */
  packed: Uint8Array;
}

/** Bytes holding `n` packed int4 values. */
export function int4Bytes(n: number): number {
  return Math.ceil(n / 2);
}

/**
 * Quantizes `x` block-wise to int4. `out` lets the frame encoder write straight into a frame body (its
 * `packed` must be zeroed). Throws `NON_FINITE` on NaN/Infinity, `BAD_CONFIG` on a bad block size, or for
 * `stochastic` rounding without an `rng`.
 *
 * @example
 * ```ts
 * const qz = quantizeInt4(new Float32Array([7, -3.5, 1]), 256);
 * // scales = [1], values 7, -4 (ties away from zero), 1; packed = [0xc7, 0x01]
 * ```
 */
export function quantizeInt4(
  x: Float32Array,
  blockSize: number = DEFAULT_BLOCK_SIZE,
  out?: { scales: Float32Array; packed: Uint8Array },
  opts: RoundingOptions = {},
): Int4Quantized {
  checkBlockSize(blockSize);
  const n = x.length;
  const scales = out?.scales ?? new Float32Array(blockCount(n, blockSize));
  const packed = out?.packed ?? new Uint8Array(int4Bytes(n));
  if (scales.length !== blockCount(n, blockSize) || packed.length !== int4Bytes(n)) throw fedError('INTERNAL', 'quantizeInt4: output arrays have the wrong length');
  quantizeBlocks(x, blockSize, 7, scales, opts, (start, end, s, rng) => {
    if (s === 0) return; // zero nibbles (packed starts zeroed)
    for (let i = start; i < end; i++) {
      const r = x[i]! / s;
      const v = rng ? roundStochastic(r, 7, rng.next()) : roundNearest(r, 7);
      const j = i >> 1;
      packed[j] = (i & 1) === 0 ? (packed[j]! & 0xf0) | (v & 0xf) : (packed[j]! & 0x0f) | ((v & 0xf) << 4);
    }
  });
  return { blockSize, n, scales, packed };
}

/** The signed value of nibble `i` (0-based over the values) of `packed`. */
export function int4At(packed: Uint8Array, i: number): number {
  const byte = packed[i >> 1]!;
  return ((i & 1) === 0 ? byte << 28 : byte << 24) >> 28;
}

/**
 * Dequantizes block-wise int4 back to float32 (`x' = q * s`).
 * @example
 * ```ts
 * const y = dequantizeInt4(quantizeInt4(x)); // |x - y| <= scale/2 per value
 * ```
 */
export function dequantizeInt4(qz: Int4Quantized, out?: Float32Array): Float32Array {
  const { blockSize, n, scales, packed } = qz;
  checkBlockSize(blockSize);
  if (scales.length !== blockCount(n, blockSize) || packed.length !== int4Bytes(n)) {
    throw fedError('BAD_FRAME', `${scales.length} scales / ${packed.length} bytes for ${n} int4 values in blocks of ${blockSize}`);
  }
  const x = out ?? new Float32Array(n);
  if (x.length !== n) throw fedError('INTERNAL', 'dequantizeInt4: output has the wrong length');
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const end = Math.min(start + blockSize, n);
    const s = scales[b]!;
    for (let i = start; i < end; i++) x[i] = int4At(packed, i) * s;
  }
  return x;
}

/**
 * `acc[off + i] += weight * x'[i]` for an int4 payload, block by block (the fold's hot loop; `weight * s` is
 * formed per block as in the int8 fold). Blocks with an even start (any even `blockSize`) take a byte at a time.
 */
export function foldInt4(acc: Float32Array | Float64Array, off: number, n: number, blockSize: number, scales: Float32Array, packed: Uint8Array, weight: number): void {
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const s = weight * scales[b]!;
    const end = start + blockSize < n ? start + blockSize : n;
    if (s === 0) continue;
    let i = start;
    if ((i & 1) === 1) {
      acc[off + i] = acc[off + i]! + s * int4At(packed, i);
      i++;
    }
    for (let a = off + i; i + 1 < end; i += 2, a += 2) {
      const byte = packed[i >> 1]!;
      acc[a] = acc[a]! + s * ((byte << 28) >> 28);
      acc[a + 1] = acc[a + 1]! + s * ((byte << 24) >> 28);
    }
    if (i < end) acc[off + i] = acc[off + i]! + s * int4At(packed, i);
  }
}

/**
 * Sum of squares and largest |value| of an int4 payload through its scales (the admission screen), a byte (two
 * values) at a time where a block starts on a byte.
 */
export function int4Stats(n: number, blockSize: number, scales: Float32Array, packed: Uint8Array): { sumSq: number; maxAbs: number } {
  let sumSq = 0;
  let maxAbs = 0;
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const end = start + blockSize < n ? start + blockSize : n;
    // Sum of squares and the largest |q| of the block's integers, then scaled once.
    let qq = 0;
    let qm = 0;
    let i = start;
    if ((i & 1) === 1) {
      const v = int4At(packed, i++);
      qq += v * v;
      qm = Math.max(qm, Math.abs(v));
    }
    for (; i + 1 < end; i += 2) {
      const byte = packed[i >> 1]!;
      const lo = (byte << 28) >> 28;
      const hi = (byte << 24) >> 28;
      qq += lo * lo + hi * hi;
      const m = lo * lo > hi * hi ? (lo < 0 ? -lo : lo) : hi < 0 ? -hi : hi;
      if (m > qm) qm = m;
    }
    if (i < end) {
      const v = int4At(packed, i);
      qq += v * v;
      qm = Math.max(qm, Math.abs(v));
    }
    const s = scales[b]!;
    sumSq += s * s * qq;
    maxAbs = Math.max(maxAbs, s * qm);
  }
  return { sumSq, maxAbs };
}
