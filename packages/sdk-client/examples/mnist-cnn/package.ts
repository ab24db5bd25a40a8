/**
 * The MNIST CNN the demo trains: conv(8, 5x5) - maxpool - conv(16, 5x5) - maxpool - dense(128) - dense(10), input
 * [28, 28, 1] (784 pixels in [0, 1] are reshaped), 10 classes. 37,610 parameters. On software WebGL a step costs
 * about the same whatever the layer widths (dispatch overhead dominates), so the dense(128) layer buys accuracy
 * for ~nothing; the convolutions stay as small as in the TensorFlow.js tutorial. It exports `createModel`, `train` and `validate`, all using the `tf` they are given.
 */
import type * as TF from '@tensorflow/tfjs';
import type { PackageData, PackageMeta, TrainHooks, TrainOutcome } from '../../src/package/types.js';
import type { Metrics, TrainSettings } from '@fedweb/codec';

export const meta: PackageMeta = {
  inputShape: [28, 28, 1],
  numClasses: 10,
  description: 'MNIST CNN: conv8-pool-conv16-pool-dense128-dense10 (the fedweb demo model)',
  settings: { localEpochs: 1, batchSize: 32, learningRate: 0.1 },
};

/** conv-pool-conv-pool as in the TensorFlow.js MNIST tutorial, then a hidden dense layer. */
export function createModel(tf: typeof TF): TF.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 5, activation: 'relu', kernelInitializer: 'heNormal' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', kernelInitializer: 'heNormal' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: 'heNormal' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}

/**
 * Local training: the trainer's standard loop (shuffled mini-batches, the session's FedProx / SCAFFOLD
 * corrections, progress and abort handled). `settings.extra.optimizer` may pick `adam` or `momentum`.
 */
export function train(_tf: typeof TF, _model: TF.LayersModel, _data: PackageData, settings: TrainSettings, hooks: TrainHooks): Promise<TrainOutcome> {
  const optimizer = settings.extra.optimizer === 'adam' || settings.extra.optimizer === 'momentum' ? settings.extra.optimizer : 'sgd';
  return hooks.trainLoop({ optimizer });
}

/** Loss (categorical cross-entropy) and accuracy over the validation data, 256 examples at a time. */
export async function validate(tf: typeof TF, model: TF.LayersModel, data: PackageData): Promise<Metrics> {
  const per = 28 * 28;
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < data.numExamples; start += 256) {
    const n = Math.min(256, data.numExamples - start);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(data.x.subarray(start * per, (start + n) * per), [n, 28, 28, 1]);
      const labels = tf.tensor1d(Int32Array.from(data.y.subarray(start, start + n)), 'int32');
      const y = tf.oneHot(labels, 10).toFloat();
      const p = model.predict(x) as TF.Tensor;
      return [tf.sum(tf.metrics.categoricalCrossentropy(y, p)), tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), labels), 'float32'))];
    });
    loss += (await l.data())[0]!;
    correct += (await c.data())[0]!;
    l.dispose();
    c.dispose();
  }
  return { loss: loss / data.numExamples, accuracy: correct / data.numExamples };
}
