/**
 * What crosses into the trainer from the page: the local dataset (checked, never trusted) and byte buffers
 * handed back out (transferable, no copy where possible).
 */
import { fedError } from '@fedweb/codec';
import type { Dataset } from './api.js';
import { featureSize } from './train-loop.js';

/**
 * Checks a Dataset that crossed the worker boundary (typed arrays, consistent sizes, finite features); returns
 * its example count. The page-side `checkDataset` (client/dataset.ts) explains a data provider's mistakes to the
 * developer before the transfer; this is the worker's own ingress check, which trusts nothing the page sent.
 * @example
 * ```ts
 * checkWorkerDataset({ x: new Float32Array(4 * 784), xShape: [784], y: new Int32Array(4), yShape: [] }); // 4
 * ```
 */
export function checkWorkerDataset(d: Dataset): number {
  if (!d || typeof d !== 'object') throw fedError('BAD_CONFIG', 'setData() needs { x, xShape, y, yShape }');
  if (!(d.x instanceof Float32Array)) throw fedError('BAD_CONFIG', 'dataset x must be a Float32Array');
  if (!(d.y instanceof Float32Array || d.y instanceof Int32Array)) throw fedError('BAD_CONFIG', 'dataset y must be a Float32Array or Int32Array');
  const dims = (s: unknown, what: string) => {
    if (!Array.isArray(s) || s.length > 8 || !s.every((v) => Number.isInteger(v) && v > 0)) throw fedError('BAD_CONFIG', `dataset ${what} must be a list of positive integers, got ${JSON.stringify(s)}`);
    return featureSize(s as number[]);
  };
  const fx = dims(d.xShape, 'xShape');
  const fy = dims(d.yShape, 'yShape');
  const check = (x: Float32Array, y: Float32Array | Int32Array, what: string): number => {
    if (x.length % fx !== 0) throw fedError('SHAPE_MISMATCH', `${what} x has ${x.length} values, not a multiple of ${fx} (xShape [${d.xShape}])`);
    const n = x.length / fx;
    if (y.length !== n * fy) throw fedError('SHAPE_MISMATCH', `${what} has ${n} examples but y has ${y.length} values (expected ${n * fy} for yShape [${d.yShape}])`);
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) throw fedError('NON_FINITE', `${what} x holds ${x[i]} at index ${i}`);
    return n;
  };
  const n = check(d.x, d.y, 'dataset');
  if (d.validation) check(d.validation.x, d.validation.y, 'validation set');
  return n;
}

/** The exact bytes of a view as a standalone ArrayBuffer (transferable; no copy when the view spans its buffer). */
export function toArrayBuffer(v: Uint8Array): ArrayBuffer {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) return v.buffer;
  return v.slice().buffer as ArrayBuffer;
}
