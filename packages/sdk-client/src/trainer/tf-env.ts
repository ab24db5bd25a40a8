/**
 * TensorFlow.js's console in Node. On the first tensor its CPU backend writes, tfjs prints "Hi, looks like you are
 * running TensorFlow.js in Node.js. To speed things up dramatically, install our node backend" (through
 * `backend_util.warn`). fedweb deliberately does not use `@tensorflow/tfjs-node` (its install downloads a native
 * binary; Node clients train on WASM), so the advice is noise. tfjs' documented switch is the `PROD` flag
 * (tfjs PR #5368: "Users can disable the warning messages by setting `tf.env().set('PROD', true)`"); it also
 * keeps `DEBUG` off, which fedweb never turns on.
 */
import type { Tf } from '../package/types.js';

/**
 * Silences tfjs' console warnings when running in Node (no effect in browsers, where the banner never shows).
 * Call once after importing tfjs, before the first tensor is created.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * quietTfjsInNode(tf);
 * ```
 */
export function quietTfjsInNode(tf: Pick<Tf, 'env'>): void {
  if (tf.env().getBool('IS_NODE')) tf.env().set('PROD', true);
}
