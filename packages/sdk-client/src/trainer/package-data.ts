/** What the package's `train` / `validate` receive: the page's dataset checked against the loaded model. */
import { fedError } from '@fedweb/codec';
import type { Dataset } from './api.js';
import type { Model, PackageData } from '../package/types.js';
import { featureSize, isClassLabels } from './train-loop.js';

/** Classes of a model's output: the width of a [batch, k] output with k > 1, else 0 (regression / binary). */
export function numClassesOf(m: Model): number {
  const shape = m.outputs[0]?.shape ?? [];
  return shape.length === 2 && typeof shape[1] === 'number' && shape[1] > 1 ? shape[1] : 0;
}

/**
 * The local dataset as the package sees it: labels checked against the model's classes, examples reshaped to the
 * model's input shape when only the shape differs (784 pixels for a [28, 28, 1] input).
 * @example
 * ```ts
 * const d = packageData(model, dataset, 'train');
 * ```
 */
export function packageData(m: Model, d: Dataset, which: 'train' | 'validation'): PackageData {
  const numClasses = numClassesOf(m);
  const x = which === 'validation' && d.validation ? d.validation.x : d.x;
  let y = which === 'validation' && d.validation ? d.validation.y : d.y;
  const n = x.length / Math.max(1, featureSize(d.xShape));
  if (numClasses > 0 && featureSize(d.yShape) === 1) {
    if (!(y instanceof Int32Array)) {
      const yi = new Int32Array(y.length);
      for (let i = 0; i < y.length; i++) yi[i] = y[i]!;
      y = yi;
    }
    for (let i = 0; i < y.length; i++) {
      const c = y[i]!;
      if (!(c >= 0 && c < numClasses) || c !== Math.floor(c)) throw fedError('BAD_CONFIG', `label ${y[i]} at example ${i} is not a class in [0, ${numClasses})`);
    }
  }
  const out: PackageData = { x, xShape: [...d.xShape], y, yShape: [...d.yShape], numExamples: n, numClasses };
  if (numClasses > 0 && featureSize(d.yShape) !== 1 && featureSize(d.yShape) !== numClasses) {
    throw fedError('SHAPE_MISMATCH', `labels have shape [${d.yShape}] per example; the model outputs ${numClasses} classes (give class indices with yShape [] or one-hot vectors of ${numClasses})`);
  }
  const inShape = m.inputs[0]?.shape.slice(1) ?? [];
  if (inShape.every((v): v is number => typeof v === 'number')) {
    if (featureSize(inShape) !== featureSize(d.xShape)) throw fedError('SHAPE_MISMATCH', `examples have shape [${d.xShape}], the model expects [${inShape.join(',')}]`);
    // Same size, maybe another shape (e.g. [784] pixels for a [28, 28, 1] input): batches take the model's shape.
    out.xShape = [...inShape];
  }
  if (!isClassLabels(out) && out.y instanceof Int32Array) out.y = Float32Array.from(out.y);
  return out;
}

