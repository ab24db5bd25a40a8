/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017: 70,000 28x28 grey images of 10 kinds of clothing, the same format
 * as MNIST and a harder task), read from where Debian's `dataset-fashion-mnist` package installs it
 * (`/usr/share/datasets/fashion-mnist`, or `FEDWEB_FASHION_MNIST_DIR`). Three fixed, disjoint splits:
 *
 * - `test`: the 10,000 images of `t10k-*` (the official test set). Used ONLY to report.
 * - `validation`: the last {@link FASHION_VALIDATION_PER_CLASS} images of every class in `train-*` file order (5,000).
 * - `train`: the other 55,000 images of `train-*`, in file order.
 *
 * `ids` are positions in `train-*` (0..59,999) and 60,000 + the position in `t10k-*`.
 */
import { join } from 'node:path';
import { fedError } from '@fedweb/codec';
import { readIdxGz, type IdxArray } from './idx.js';
import { NUM_CLASSES, PIXELS, type MnistData, type MnistSet } from './mnist.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_VALIDATION_PER_CLASS = 500;
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

let cached: { dir: string; data: MnistData } | undefined;

/** Images and labels of one IDX pair as a set with ids starting at `firstId`. */
function toSet(images: IdxArray, labels: IdxArray, firstId: number, what: string): MnistSet {
  const [n, h, w] = images.shape;
  if (images.shape.length !== 3 || h !== 28 || w !== 28) throw fedError('BAD_FRAME', `${what} images have shape [${images.shape}], expected [n, 28, 28]`);
  if (labels.shape.length !== 1 || labels.shape[0] !== n) throw fedError('BAD_FRAME', `${what} has ${labels.shape[0]} labels for ${n} images`);
  const x = new Float32Array(n! * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  const y = new Int32Array(n!);
  for (let i = 0; i < n!; i++) {
    const c = labels.data[i]!;
    if (c >= NUM_CLASSES) throw fedError('BAD_FRAME', `${what} label ${c} at ${i} is not a class in 0..9`);
    y[i] = c;
  }
  return { x, y, n: n!, ids: Int32Array.from({ length: n! }, (_, i) => firstId + i) };
}

/** The examples of `set` at `keep` (positions), with their ids. */
function pick(set: MnistSet, keep: number[]): MnistSet {
  const out: MnistSet = { x: new Float32Array(keep.length * PIXELS), y: new Int32Array(keep.length), n: keep.length, ids: new Int32Array(keep.length) };
  keep.forEach((j, i) => {
    out.x.set(set.x.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    out.y[i] = set.y[j]!;
    out.ids![i] = set.ids![j]!;
  });
  return out;
}

/**
 * Loads (once per folder) Fashion-MNIST's train / validation / test splits. Synchronous (~1 s: inflating 30 MB).
 * Throws `NOT_FOUND` naming the Debian package when the files are missing.
 * @example
 * ```ts
 * const { train, validation, test } = loadFashionMnist(); // 55,000 / 5,000 / 10,000
 * ```
 */
export function loadFashionMnist(dir = process.env['FEDWEB_FASHION_MNIST_DIR'] ?? FASHION_DIR): MnistData {
  if (cached?.dir === dir) return cached.data;
  const file = (name: string) => join(dir, `${name}-ubyte.gz`);
  let full: MnistSet;
  let test: MnistSet;
  try {
    full = toSet(readIdxGz(file('train-images-idx3')), readIdxGz(file('train-labels-idx1')), 0, 'fashion-mnist train');
    test = toSet(readIdxGz(file('t10k-images-idx3')), readIdxGz(file('t10k-labels-idx1')), 60_000, 'fashion-mnist t10k');
  } catch (e) {
    if ((e as { code?: string }).code === 'NOT_FOUND') throw fedError('NOT_FOUND', `Fashion-MNIST is not installed in ${dir} (apt-get install dataset-fashion-mnist): ${(e as Error).message}`);
    throw e;
  }
  // Validation: the last FASHION_VALIDATION_PER_CLASS images of each class, in file order.
  const seen = new Array<number>(NUM_CLASSES).fill(0);
  const total = new Array<number>(NUM_CLASSES).fill(0);
  for (const c of full.y) total[c]!++;
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < full.n; i++) {
    const c = full.y[i]!;
    (seen[c]!++ >= total[c]! - FASHION_VALIDATION_PER_CLASS ? valIdx : trainIdx).push(i);
  }
  const data: MnistData = { train: pick(full, trainIdx), validation: pick(full, valIdx), test };
  cached = { dir, data };
  return data;
}
