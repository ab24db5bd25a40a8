/**
 * Splitting a labelled training pool into simulation shards, one per simulated client, reproducibly
 * from a seed. Three splits:
 *
 * - `iid`: a seeded shuffle cut into near-equal parts (sizes differ by at most one).
 * - `dirichlet:<alpha>`: label skew. For every class, the fractions of its examples that go to each shard
 *   are drawn from a symmetric Dirichlet(alpha) over the shards (small alpha: each shard is dominated by a
 *   few classes; large alpha: close to IID). This is the Dirichlet label-skew protocol of Hsu, Qi & Brown,
 *   "Measuring the Effects of Non-Identical Data Distribution for Federated Visual Classification" (2019),
 *   in the per-class form of Yurochkin et al., "Bayesian Nonparametric Federated Learning of Neural
 *   Networks" (ICML 2019), which partitions the pool exactly (no example used twice or dropped). Draws are
 *   repeated (same seeded stream) until every shard holds at least `minShardSize` examples.
 * - `labels:<k>`: each shard holds examples of exactly k classes (the "pathological non-IID" split of
 *   McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017).
 *   Classes are dealt round-robin from a seeded permutation so each class is held by about the same number
 *   of shards, and each class's examples are divided evenly among its holders.
 */
import { fedError } from '@fedweb/codec';
import { createRng, shuffleInPlace, type Rng } from '@fedweb/codec';
import { sampleDirichlet } from './distributions.js';

export type SplitSpec = { kind: 'iid' } | { kind: 'dirichlet'; alpha: number } | { kind: 'labels'; k: number };

/**
 * Parses `iid`, `dirichlet:<alpha>` (alpha > 0) or `labels:<k>` (integer k >= 1).
 * Throws FedError `BAD_CONFIG` saying what was wrong.
 * @example
 * ```ts
 * parseSplit('dirichlet:0.5'); // { kind: 'dirichlet', alpha: 0.5 }
 * parseSplit('labels:2');      // { kind: 'labels', k: 2 }
 * ```
 */
export function parseSplit(text: string): SplitSpec {
  const s = text.trim().toLowerCase();
  if (s === 'iid') return { kind: 'iid' };
  const m = /^(dirichlet|labels):(.+)$/.exec(s);
  if (m) {
    const value = Number(m[2]);
    if (m[1] === 'dirichlet') {
      if (!Number.isFinite(value) || value <= 0) throw fedError('BAD_CONFIG', `dirichlet alpha must be a positive number, got '${m[2]}'`);
      return { kind: 'dirichlet', alpha: value };
    }
    if (!Number.isInteger(value) || value < 1) throw fedError('BAD_CONFIG', `labels:k needs an integer k >= 1, got '${m[2]}'`);
    return { kind: 'labels', k: value };
  }
  throw fedError('BAD_CONFIG', `unknown split '${text}': use iid, dirichlet:<alpha> or labels:<k>`);
}

/**
 * The canonical text of a split (`iid`, `dirichlet:0.5`, `labels:2`).
 * @example
 * ```ts
 * formatSplit({ kind: 'labels', k: 2 }); // 'labels:2'
 * ```
 */
export function formatSplit(spec: SplitSpec): string {
  switch (spec.kind) {
    case 'iid':
      return 'iid';
    case 'dirichlet':
      return `dirichlet:${spec.alpha}`;
    case 'labels':
      return `labels:${spec.k}`;
  }
}

export interface PartitionOptions {
  /** Number of classes (labels are 0..numClasses-1). Default: max label + 1. */
  numClasses?: number;
  /** Dirichlet only: redraw until every shard has at least this many examples. Default min(10, n / shards). */
  minShardSize?: number;
  /** Dirichlet only: redraws before giving up with BAD_CONFIG. Default 1000. */
  maxTries?: number;
}

/**
 * Partitions example indices `0..labels.length-1` into `numShards` shards. Deterministic in
 * (labels, numShards, spec, seed); every index lands in at most one shard (in exactly one for `iid` and
 * `dirichlet`; `labels:k` with `numShards * k < numClasses` leaves the unheld classes out). The order of
 * indices inside a shard is a seeded shuffle, so batches are not sorted by class.
 * @example
 * ```ts
 * const shards = partition(train.y, 10, parseSplit('dirichlet:0.5'), 42);
 * shards.length; // 10
 * ```
 */
export function partition(labels: ArrayLike<number>, numShards: number, spec: SplitSpec, seed: number | string, options: PartitionOptions = {}): number[][] {
  const n = labels.length;
  if (!Number.isInteger(numShards) || numShards < 1) throw fedError('BAD_CONFIG', `the number of shards must be an integer >= 1, got ${numShards}`);
  if (numShards > n) throw fedError('BAD_CONFIG', `${numShards} shards cannot be cut from ${n} examples`);
  let maxLabel = -1;
  for (let i = 0; i < n; i++) maxLabel = Math.max(maxLabel, labels[i] as number);
  const numClasses = options.numClasses ?? maxLabel + 1;
  const rng = createRng(`${formatSplit(spec)}/${numShards}/${typeof seed}:${seed}`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) {
    const c = labels[i] as number;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw fedError('BAD_CONFIG', `label ${c} at index ${i} is outside 0..${numClasses - 1}`);
    (byClass[c] as number[]).push(i);
  }
  for (const list of byClass) shuffleInPlace(list, rng);

  let shards: number[][];
  switch (spec.kind) {
    case 'iid': {
      const all = shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng);
      shards = cutEvenly(all, numShards);
      break;
    }
    case 'dirichlet':
      shards = dirichletShards(byClass, numShards, spec.alpha, rng, options.minShardSize ?? Math.min(10, Math.floor(n / numShards)), options.maxTries ?? 1000);
      break;
    case 'labels':
      shards = labelShards(byClass, numShards, spec.k, rng);
      break;
  }
  for (const s of shards) shuffleInPlace(s, rng);
  return shards;
}

/** Cuts `items` into `parts` contiguous pieces whose sizes differ by at most one (larger ones first). */
function cutEvenly(items: number[], parts: number): number[][] {
  const out: number[][] = [];
  const base = Math.floor(items.length / parts);
  const extra = items.length % parts;
  let at = 0;
  for (let p = 0; p < parts; p++) {
    const size = base + (p < extra ? 1 : 0);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}

function dirichletShards(byClass: number[][], numShards: number, alpha: number, rng: Rng, minShardSize: number, maxTries: number): number[][] {
  for (let attempt = 0; attempt < maxTries; attempt++) {
    const shards: number[][] = Array.from({ length: numShards }, () => []);
    for (const list of byClass) {
      if (list.length === 0) continue;
      const p = sampleDirichlet(alpha, numShards, rng);
      // Cut points at round(cumulative fraction * count): the pieces partition the class exactly.
      let cumulative = 0;
      let start = 0;
      for (let s = 0; s < numShards; s++) {
        cumulative += p[s] as number;
        const end = s === numShards - 1 ? list.length : Math.min(list.length, Math.round(cumulative * list.length));
        for (let i = start; i < end; i++) (shards[s] as number[]).push(list[i] as number);
        start = Math.max(start, end);
      }
    }
    if (shards.every((s) => s.length >= minShardSize)) return shards;
  }
  throw fedError('BAD_CONFIG', `dirichlet:${alpha} over ${numShards} shards left a shard under ${minShardSize} examples in ${maxTries} draws; raise alpha or lower the shard count`);
}

function labelShards(byClass: number[][], numShards: number, k: number, rng: Rng): number[][] {
  const numClasses = byClass.length;
  if (k > numClasses) throw fedError('BAD_CONFIG', `labels:${k} asks for more classes than the ${numClasses} there are`);
  const order = shuffleInPlace(Array.from({ length: numClasses }, (_, c) => c), rng);
  const holders: number[][] = Array.from({ length: numClasses }, () => []);
  for (let s = 0; s < numShards; s++) {
    // k consecutive entries (mod C) of a permutation are k distinct classes.
    for (let j = 0; j < k; j++) (holders[order[(s * k + j) % numClasses] as number] as number[]).push(s);
  }
  const shards: number[][] = Array.from({ length: numShards }, () => []);
  for (let c = 0; c < numClasses; c++) {
    const who = holders[c] as number[];
    if (who.length === 0) continue;
    const list = byClass[c] as number[];
    if (list.length < who.length) throw fedError('BAD_CONFIG', `class ${c} has ${list.length} examples for ${who.length} shards`);
    cutEvenly(list, who.length).forEach((piece, i) => (shards[who[i] as number] as number[]).push(...piece));
  }
  return shards;
}

/**
 * Counts the examples of each class in a shard (for the page's "your data" panel and for tests).
 * @example
 * ```ts
 * labelHistogram([0, 1, 1], [0, 1, 2], 2); // [1, 2]
 * ```
 */
export function labelHistogram(labels: ArrayLike<number>, indices: ArrayLike<number>, numClasses: number): number[] {
  const h = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < indices.length; i++) {
    const c = labels[indices[i] as number] as number;
    h[c] = (h[c] as number) + 1;
  }
  return h;
}
