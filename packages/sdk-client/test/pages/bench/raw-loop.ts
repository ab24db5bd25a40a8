/**
 * The baseline: a plain tfjs training loop (SGD via `optimizer.minimize`, batches copied from typed arrays,
 * one loss read-back at the end), as a page would write it without fedweb. Shared by the main-thread run and
 * the raw-in-a-worker run of the benchmark.
 */
import type * as TF from '@tensorflow/tfjs';

/** A seeded shuffle (LCG + Fisher-Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx;
}

/** Trains one epoch over the first `n` examples from `seedWeights`; returns the training time in ms. */
export async function rawTrain(
  tf: typeof TF,
  model: TF.LayersModel,
  seedWeights: TF.Tensor[],
  data: { x: Float32Array; y: Int32Array },
  n: number,
  batchSize: number,
  learningRate: number,
): Promise<number> {
  model.setWeights(seedWeights);
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  const per = 784;
  const { x, y } = data;
  const opt = tf.train.sgd(learningRate);
  const idx = permutation(n, 1);
  const t0 = performance.now();
  let last: TF.Scalar | null = null;
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const loss = tf.tidy(() => {
      const xb = new Float32Array(b * per);
      const yb = new Int32Array(b);
      for (let i = 0; i < b; i++) {
        const r = idx[start + i]!;
        xb.set(x.subarray(r * per, (r + 1) * per), i * per);
        yb[i] = y[r]!;
      }
      const xt = tf.tensor(xb, [b, ...inShape]);
      const yt = tf.oneHot(tf.tensor1d(yb, 'int32'), 10).toFloat();
      return opt.minimize(() => tf.mean(tf.metrics.categoricalCrossentropy(yt, model.apply(xt, { training: true }) as TF.Tensor)) as TF.Scalar, true)!;
    });
    last?.dispose();
    last = loss;
  }
  await last!.data();
  const ms = performance.now() - t0;
  last!.dispose();
  opt.dispose();
  return ms;
}
