/**
 * A model the strategy simulations (`testing.ts`, the `strategies` and `strategies-cnn` benchmarks) can train in
 * plain Float32Array maths, no tfjs: flat parameters in layout order, a mean cross-entropy gradient over a
 * batch, and an evaluation. Two implementations: multinomial logistic regression ({@link logreg}) and the
 * demo's MNIST CNN (`../sim/cnn.ts`).
 */
import type { TensorSpec } from '@fedweb/codec';

/** Labelled examples: `x` is n × features floats, `y` the labels (the shape of `../sim`'s MnistSet). */
export interface Examples {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

export interface SimModel {
  readonly name: string;
  /** The tensors, in order (names `w0..wN` like a tfjs model's frame). */
  readonly layout: TensorSpec[];
  readonly paramCount: number;
  /** Initial parameters, seeded. */
  init(seed: number): Float32Array;
  /**
   * Adds the MEAN softmax cross-entropy gradient over `indices` into `grad` (zeroed by the caller) and returns
   * the mean loss over those examples.
   */
  gradient(params: Float32Array, data: Examples, indices: ArrayLike<number>, grad: Float32Array): number;
  /** Mean cross-entropy loss and accuracy on a whole set. */
  evaluate(params: Float32Array, data: Examples): { loss: number; accuracy: number };
}

/**
 * Numerically stable softmax of `logits` in place (float64); returns log(sum(exp(logits − max))) + max, the
 * log-partition, so that the cross-entropy of label k is `logZ − logits[k]` taken before the call.
 * @example
 * ```ts
 * const l = Float64Array.of(1, 2, 3);
 * const logZ = softmaxInPlace(l); // l now sums to 1
 * ```
 */
export function softmaxInPlace(logits: Float64Array): number {
  let max = -Infinity;
  for (let k = 0; k < logits.length; k++) max = Math.max(max, logits[k]!);
  let z = 0;
  for (let k = 0; k < logits.length; k++) {
    logits[k] = Math.exp(logits[k]! - max);
    z += logits[k]!;
  }
  for (let k = 0; k < logits.length; k++) logits[k] = logits[k]! / z;
  return Math.log(z) + max;
}
