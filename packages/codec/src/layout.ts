/**
 * Flat layout of a model: the concatenation of its tensors in order. Aggregates (running sums) are one
 * Float32Array in this layout.
 */
import { fedError } from './errors.js';
import type { NamedTensor, TensorSpec } from './types.js';

/** Elements of one shape (1 for a scalar `[]`). Throws `BAD_CONFIG` on a non-integer or negative dim. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw fedError('BAD_CONFIG', `shape [${shape.join(',')}] has an invalid dimension ${d}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw fedError('BAD_CONFIG', `shape [${shape.join(',')}] is too large`);
  return n;
}

/**
 * Total elements of a layout.
 * @example
 * ```ts
 * layoutSize([{ name: 'w0', shape: [784, 128] }, { name: 'w1', shape: [128] }]); // 100480
 * ```
 */
export function layoutSize(layout: readonly TensorSpec[]): number {
  let n = 0;
  for (const t of layout) n += shapeSize(t.shape);
  return n;
}

/**
 * Concatenates tensors into one Float32Array (checking each `data.length` against its shape).
 * @example
 * ```ts
 * const flat = flattenTensors(await decodeFrame(bytes)); // then unflattenTensors(flat, layout)
 * ```
 */
export function flattenTensors(tensors: readonly NamedTensor[]): Float32Array {
  let n = 0;
  for (const t of tensors) {
    const size = shapeSize(t.shape);
    if (size !== t.data.length) throw fedError('SHAPE_MISMATCH', `tensor ${t.name} has shape [${t.shape.join(',')}] but ${t.data.length} values`);
    n += size;
  }
  const flat = new Float32Array(n);
  let off = 0;
  for (const t of tensors) {
    flat.set(t.data, off);
    off += t.data.length;
  }
  return flat;
}

/**
 * Splits a flat array into named tensors following `layout`. The tensors' `data` are views (`subarray`) over
 * `flat`, not copies: `.slice()` one to own it.
 * @example
 * ```ts
 * const tensors = unflattenTensors(acc, layout);
 * const frame = await encodeFrame(tensors, { encoding: 'f32' });
 * ```
 */
export function unflattenTensors(flat: Float32Array, layout: readonly TensorSpec[]): NamedTensor[] {
  const n = layoutSize(layout);
  if (n !== flat.length) throw fedError('SHAPE_MISMATCH', `flat array has ${flat.length} values, layout needs ${n}`);
  let off = 0;
  return layout.map((spec) => {
    const size = shapeSize(spec.shape);
    const data = flat.subarray(off, off + size);
    off += size;
    return { name: spec.name, shape: [...spec.shape], data };
  });
}
