/**
 * The streaming fold: `acc += weight * update`, straight from a frame's payload (int8 read through an
 * Int8Array view, int4 a byte at a time, no f32 copy of the update is materialised), block by block with
 * `weight * scale` formed once per block. This is the combiner's hot loop. The accumulator may be a
 * Float64Array (exact for the products, rounding once per add at 2^-53 instead of 2^-24).
 */
import { fedError, isFedError } from './errors.js';
import { F32_MAX } from './bytes.js';
import { parseFrame, type ParsedFrame } from './frame-parse.js';
import { foldInt4 } from './quantize-int4.js';
import { layoutSize } from './layout.js';
import type { Compressor, FrameLimits, TensorSpec } from './types.js';

export interface FoldOptions {
  /** The global model's layout: the frame must hold exactly these tensors in this order. */
  layout: readonly TensorSpec[];
  compressor?: Compressor;
  limits?: Partial<FrameLimits>;
}

/**
 * Adds `weight * frame` into `acc` (the flat concatenation of `layout`). The whole frame is validated first
 * (header, manifest, names and shapes against `layout`, every scale and f32 value finite, top-k indices in range
 * and increasing, `weight * value` representable as float32): if anything is wrong it throws a FedError and
 * `acc` is untouched. Codes: `SHAPE_MISMATCH`, `BAD_FRAME`, `NON_FINITE`, `FRAME_TOO_LARGE`, `COMPRESSION`,
 * `VERSION_MISMATCH`, `BAD_CONFIG` (bad weight or acc length).
 *
 * @example
 * ```ts
 * const acc = new Float32Array(layoutSize(layout));
 * await foldInto(acc, frame, update.numExamples, { layout, compressor: nodeZlibCompressor });
 * totalWeight += update.numExamples;
 * ```
 */
export async function foldInto(acc: Float32Array | Float64Array, frame: Uint8Array, weight: number, opts: FoldOptions): Promise<void> {
  checkAcc(acc, weight, layoutSize(opts.layout));
  let parsed: ParsedFrame;
  try {
    parsed = await parseFrame(frame, { expect: opts.layout, compressor: opts.compressor, limits: opts.limits });
  } catch (e) {
    if (isFedError(e)) throw e;
    throw fedError('BAD_FRAME', `frame rejected: ${(e as Error)?.message ?? String(e)}`, undefined, e);
  }
  foldParsed(acc, parsed, weight);
}

function checkAcc(acc: Float32Array | Float64Array, weight: number, n: number): void {
  if (typeof weight !== 'number' || !Number.isFinite(weight)) throw fedError('BAD_CONFIG', `fold weight must be a finite number, got ${String(weight)}`);
  if (!(acc instanceof Float32Array) && !(acc instanceof Float64Array)) throw fedError('BAD_CONFIG', 'acc must be a Float32Array or Float64Array');
  if (acc.length !== n) throw fedError('BAD_CONFIG', `acc has ${acc.length} values, layout needs ${n}`);
}

/**
 * Adds `weight * parsed` into `acc`: the fold of a frame that was already parsed and validated (`parseFrame`
 * with `expect: layout`, or a worker's `parseBody`), so a server that screened an update folds it without
 * inflating it again. Throws (`BAD_CONFIG`, `NON_FINITE` when `weight * value` overflows float32) before touching
 * `acc`. Frames with more tensors than `acc` holds (SCAFFOLD's extras) are refused with `SHAPE_MISMATCH`.
 * @example
 * ```ts
 * const parsed = await parseFrame(frame, { expect: layout, compressor: nodeZlibCompressor });
 * foldParsed(acc, parsed, numExamples);
 * ```
 */
export function foldParsed(acc: Float32Array | Float64Array, parsed: ParsedFrame, weight: number): void {
  let n = 0;
  for (const t of parsed.tensors) n += t.n;
  if (n !== acc.length) throw fedError('SHAPE_MISMATCH', `frame holds ${n} values, acc ${acc.length}`);
  checkAcc(acc, weight, n);
  if (!(Math.abs(weight) * parsed.maxAbs <= F32_MAX)) {
    throw fedError('NON_FINITE', `weight ${weight} times a value of magnitude ${parsed.maxAbs} overflows float32`);
  }
  // Everything is validated: from here on nothing throws.
  let off = 0;
  for (const t of parsed.tensors) {
    if (t.encoding === 'f32') {
      foldF32(acc, off, t.values, weight);
    } else if (t.encoding === 'int8') {
      foldInt8(acc, off, t.n, t.blockSize, t.scales, t.q, weight);
    } else if (t.encoding === 'int4') {
      foldInt4(acc, off, t.n, t.blockSize, t.scales, t.packed, weight);
    } else {
      const { k, blockSize, scales, q, indices } = t;
      for (let j = 0; j < k; j++) {
        const a = off + indices[j]!;
        acc[a] = acc[a]! + weight * scales[(j / blockSize) | 0]! * q[j]!;
      }
    }
    off += t.n;
  }
}

// The loops live in small sync functions of their own so the JIT compiles each as one tight loop.
function foldF32(acc: Float32Array | Float64Array, off: number, x: Float32Array, weight: number): void {
  for (let i = 0, a = off; i < x.length; i++, a++) acc[a] = acc[a]! + weight * x[i]!;
}

// Kept as its own small monomorphic function so the JIT compiles one tight loop.
function foldInt8(acc: Float32Array | Float64Array, off: number, n: number, blockSize: number, scales: Float32Array, q: Int8Array, weight: number): void {
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const s = weight * scales[b]!;
    const end = start + blockSize < n ? start + blockSize : n;
    if (s === 0) continue;
    for (let i = start, a = off + start; i < end; i++, a++) acc[a] = acc[a]! + s * q[i]!;
  }
}
