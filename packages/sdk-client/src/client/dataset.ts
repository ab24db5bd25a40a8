import { fedError } from '@fedweb/codec';
import type { Dataset } from '../trainer/api.js';

const prod = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const isShape = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d > 0);

/**
 * Checks what a {@link DataProvider} returned before it is sent to the trainer, with messages that say what to fix.
 * `x` holds `n * prod(xShape)` floats; `y` holds `n * prod(yShape)` values (`yShape: []` for class labels).
 * @example
 * ```ts
 * checkDataset({ x: new Float32Array(4 * 784), xShape: [784], y: new Int32Array(4), yShape: [] }); // ok, 4 examples
 * ```
 */
export function checkDataset(d: unknown): Dataset {
  const hint = 'data.load() must return { x: Float32Array, xShape: number[], y: Int32Array | Float32Array, yShape: number[] }';
  if (!d || typeof d !== 'object') throw fedError('BAD_CONFIG', `${hint}; it returned ${String(d)}`);
  const ds = d as Partial<Dataset>;
  if (!(ds.x instanceof Float32Array)) throw fedError('BAD_CONFIG', `${hint}; x is not a Float32Array`);
  if (!(ds.y instanceof Float32Array) && !(ds.y instanceof Int32Array)) throw fedError('BAD_CONFIG', `${hint}; y is not an Int32Array or Float32Array`);
  if (!isShape(ds.xShape)) throw fedError('BAD_CONFIG', `${hint}; xShape must be positive integers, without the example dimension (e.g. [28, 28, 1])`);
  if (!Array.isArray(ds.yShape) || !isShape(ds.yShape)) throw fedError('BAD_CONFIG', `${hint}; yShape must be [] for class labels or positive integers`);
  const per = prod(ds.xShape);
  if (ds.x.length === 0) {
    throw fedError('BAD_CONFIG', 'data.load() returned an empty x (if it returned the same arrays twice, they were transferred to the worker: return fresh arrays on each call)');
  }
  if (ds.x.length % per !== 0) throw fedError('BAD_CONFIG', `x has ${ds.x.length} values, not a multiple of prod(xShape) = ${per}`);
  const n = ds.x.length / per;
  const yPer = prod(ds.yShape);
  if (ds.y.length !== n * yPer) throw fedError('BAD_CONFIG', `y has ${ds.y.length} values; ${n} examples need ${n * yPer} (yShape ${JSON.stringify(ds.yShape)})`);
  if (ds.validation) {
    const v = ds.validation;
    if (!(v.x instanceof Float32Array) || v.x.length === 0 || v.x.length % per !== 0) {
      throw fedError('BAD_CONFIG', `validation.x must be a non-empty Float32Array of m * ${per} values`);
    }
    const m = v.x.length / per;
    if ((!(v.y instanceof Float32Array) && !(v.y instanceof Int32Array)) || v.y.length !== m * yPer) {
      throw fedError('BAD_CONFIG', `validation.y must hold ${m * yPer} values for ${m} examples`);
    }
  }
  return ds as Dataset;
}
