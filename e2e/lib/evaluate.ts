/**
 * The harness's own judge of a global model: the compute package's `createModel` in Node (tfjs, WASM
 * backend for speed: inference needs no gradient kernels), the frame's weights (`w0..wN` in
 * `getWeights()` order), and accuracy / loss on the fixed 2,000-digit held-out MNIST test set.
 * Independent of the clients' own validation, so a bug there cannot flatter the results.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { decodeFrame } from '@fedweb/codec';
import { quietTfjsInNode } from '@fedweb/sdk-client/trainer';
import { loadDataset, type DatasetName, type MnistSet } from '../../packages/server/src/sim/index.js';

export interface Evaluation {
  accuracy: number;
  loss: number;
}

export interface Evaluator {
  /** Accuracy and mean cross-entropy of the model in an f32 frame on the TEST split (reporting only). */
  evaluate(frame: Uint8Array): Promise<Evaluation>;
  /** The same on the VALIDATION split (the one every tuning choice is made on). */
  evaluateValidation(frame: Uint8Array): Promise<Evaluation>;
  /** Mean per-example metrics on any labelled set (e.g. a shard). */
  evaluateOn(frame: Uint8Array, set: MnistSet): Promise<Evaluation>;
  dispose(): void;
}

let backendReady: Promise<void> | undefined;

/**
 * Activates tfjs' WASM backend once per process (CPU as the fallback).
 * @example
 * ```ts
 * await ensureNodeBackend(); // tf.getBackend() === 'wasm'
 * ```
 */
export function ensureNodeBackend(): Promise<void> {
  backendReady ??= (async () => {
    quietTfjsInNode(tf);
    await import('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend('wasm').catch(() => false);
    if (!ok) await tf.setBackend('cpu');
    await tf.ready();
  })();
  return backendReady;
}

/**
 * Builds an evaluator for a built compute package folder (`package.mjs`, `manifest.json`).
 * @example
 * ```ts
 * const judge = await createEvaluator('packages/sdk-client/examples/dist/mnist-cnn');
 * const { accuracy } = await judge.evaluate(frameBytes);
 * ```
 */
export async function createEvaluator(packageDir: string, dataset: DatasetName = 'mnist'): Promise<Evaluator> {
  await ensureNodeBackend();
  const manifest = JSON.parse(readFileSync(join(packageDir, 'manifest.json'), 'utf8')) as { inputShape?: number[]; settings?: Record<string, unknown> };
  const mod = (await import(pathToFileURL(join(packageDir, 'package.mjs')).href)) as { createModel(t: typeof tf, s: Record<string, unknown>): tf.LayersModel | Promise<tf.LayersModel> };
  const model = await mod.createModel(tf, manifest.settings ?? {});
  const inputShape = manifest.inputShape ?? [28, 28, 1];
  const { test, validation } = loadDataset(dataset);

  const evaluateOn = async (frame: Uint8Array, set: MnistSet): Promise<Evaluation> => {
    const tensors = await decodeFrame(frame);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const current = model.getWeights();
    const weights = current.map((w, i) => {
      const t = byName.get(`w${i}`);
      if (!t || t.data.length !== w.size) throw new Error(`model frame lacks w${i} of ${w.size} values`);
      return tf.tensor(t.data, w.shape);
    });
    model.setWeights(weights);
    tf.dispose(weights);
    let correct = 0;
    let loss = 0;
    const per = inputShape.reduce((a, b) => a * b, 1);
    for (let start = 0; start < set.n; start += 500) {
      const n = Math.min(500, set.n - start);
      const [c, l] = tf.tidy(() => {
        const x = tf.tensor(set.x.subarray(start * per, (start + n) * per), [n, ...inputShape]);
        const labels = tf.tensor1d(set.y.subarray(start, start + n), 'int32');
        const p = model.predict(x) as tf.Tensor;
        const picked = tf.sum(tf.mul(tf.oneHot(labels, 10), p), -1);
        return [tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), labels), 'float32')), tf.sum(tf.neg(tf.log(tf.maximum(picked, 1e-7))))];
      });
      correct += (await c.data())[0] as number;
      loss += (await l.data())[0] as number;
      tf.dispose([c, l]);
    }
    return { accuracy: correct / set.n, loss: loss / set.n };
  };

  return {
    evaluate: (frame) => evaluateOn(frame, test),
    evaluateValidation: (frame) => evaluateOn(frame, validation),
    evaluateOn,
    dispose: () => model.dispose(),
  };
}
