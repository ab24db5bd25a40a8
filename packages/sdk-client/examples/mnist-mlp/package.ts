/**
 * A 784-128-10 MLP for MNIST: the small, fast compute package the tests use. It exports only `createModel`
 * and `meta`, so the trainer runs its standard loop (FedProx / SCAFFOLD corrections included) and its default
 * validation (loss, accuracy). Inputs are 784 pixels in [0, 1]; labels are class indices.
 */
import type * as TF from '@tensorflow/tfjs';
import type { PackageMeta } from '../../src/package/types.js';

export const meta: PackageMeta = {
  inputShape: [784],
  numClasses: 10,
  description: 'MNIST 784-128-10 multilayer perceptron (ReLU, softmax), plain SGD',
  settings: { localEpochs: 1, batchSize: 32, learningRate: 0.1 },
};

/** Builds the model with the trainer's tf (never a bundled one). */
export function createModel(tf: typeof TF): TF.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu', kernelInitializer: 'heNormal' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}
