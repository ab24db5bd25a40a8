/**
 * Multinomial logistic regression on MNIST (784 × 10 weights `w0` + 10 biases `w1`, 7,850 parameters) in plain
 * Float32Array maths, no tfjs: enough to see strategies differ, fast enough for tests. A {@link SimModel}.
 */
import type { TensorSpec } from '@fedweb/codec';
import type { Examples, SimModel } from './sim-model.js';

export type { Examples } from './sim-model.js';

/** Pixels per digit and classes. */
/** Pixels per digit and classes. */
export const INPUTS = 784;
export const CLASSES = 10;

/** The logistic-regression model: `w0` [784, 10] row-major (input-major), `w1` [10]. */
export const LOGREG_LAYOUT: TensorSpec[] = [
  { name: 'w0', shape: [INPUTS, CLASSES] },
  { name: 'w1', shape: [CLASSES] },
];
export const LOGREG_PARAMS = INPUTS * CLASSES + CLASSES;


/**
 * Adds the mean softmax cross-entropy gradient of `indices` into `grad` (zeroed by the caller) and returns
 * the mean loss. Zero pixels are skipped (MNIST is ~80% zeros).
 * @example
 * ```ts
 * const grad = new Float32Array(LOGREG_PARAMS);
 * const loss = logregGradient(params, data, [0, 1, 2], grad);
 * ```
 */
export function logregGradient(params: Float32Array, data: Examples, indices: ArrayLike<number>, grad: Float32Array): number {
  const bias = INPUTS * CLASSES;
  const logits = new Float64Array(CLASSES);
  const b = indices.length;
  let loss = 0;
  for (let e = 0; e < b; e++) {
    const i = indices[e]!;
    const xo = i * INPUTS;
    for (let k = 0; k < CLASSES; k++) logits[k] = params[bias + k]!;
    for (let j = 0; j < INPUTS; j++) {
      const xv = data.x[xo + j]!;
      if (xv === 0) continue;
      const wo = j * CLASSES;
      for (let k = 0; k < CLASSES; k++) logits[k] = logits[k]! + xv * params[wo + k]!;
    }
    let max = -Infinity;
    for (let k = 0; k < CLASSES; k++) max = Math.max(max, logits[k]!);
    let z = 0;
    for (let k = 0; k < CLASSES; k++) {
      logits[k] = Math.exp(logits[k]! - max);
      z += logits[k]!;
    }
    const label = data.y[i]!;
    loss += -Math.log(Math.max(logits[label]! / z, 1e-12));
    // dL/dlogit_k = p_k − [k = label], averaged over the batch.
    for (let k = 0; k < CLASSES; k++) logits[k] = (logits[k]! / z - (k === label ? 1 : 0)) / b;
    for (let j = 0; j < INPUTS; j++) {
      const xv = data.x[xo + j]!;
      if (xv === 0) continue;
      const wo = j * CLASSES;
      for (let k = 0; k < CLASSES; k++) grad[wo + k] = grad[wo + k]! + xv * logits[k]!;
    }
    for (let k = 0; k < CLASSES; k++) grad[bias + k] = grad[bias + k]! + logits[k]!;
  }
  return loss / Math.max(1, b);
}

/**
 * Mean cross-entropy loss and accuracy of the model on a set.
 * @example
 * ```ts
 * const { loss, accuracy } = evaluateLogreg(model, test);
 * ```
 */
export function evaluateLogreg(params: Float32Array, data: Examples): { loss: number; accuracy: number } {
  const bias = INPUTS * CLASSES;
  const logits = new Float64Array(CLASSES);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < data.n; i++) {
    const xo = i * INPUTS;
    for (let k = 0; k < CLASSES; k++) logits[k] = params[bias + k]!;
    for (let j = 0; j < INPUTS; j++) {
      const xv = data.x[xo + j]!;
      if (xv === 0) continue;
      for (let k = 0; k < CLASSES; k++) logits[k] = logits[k]! + xv * params[j * CLASSES + k]!;
    }
    let max = -Infinity;
    let arg = 0;
    for (let k = 0; k < CLASSES; k++) if (logits[k]! > max) { max = logits[k]!; arg = k; }
    let z = 0;
    for (let k = 0; k < CLASSES; k++) z += Math.exp(logits[k]! - max);
    const label = data.y[i]!;
    loss += -(logits[label]! - max - Math.log(z));
    if (arg === label) correct++;
  }
  return { loss: loss / data.n, accuracy: correct / data.n };
}

/**
 * The logistic regression as a {@link SimModel} (zero initial weights).
 * @example
 * ```ts
 * const r = await simulate({ strategy: fedavg, model: logreg, clients, test, rounds: 5, local, seed: 1 });
 * ```
 */
export const logreg: SimModel = {
  name: 'logreg',
  layout: LOGREG_LAYOUT,
  paramCount: LOGREG_PARAMS,
  init: () => new Float32Array(LOGREG_PARAMS),
  gradient: logregGradient,
  evaluate: evaluateLogreg,
};
