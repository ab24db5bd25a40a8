import { describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { loadDataset, parseDataset } from './datasets.js';
import { FASHION_VALIDATION_PER_CLASS } from './fashion.js';
import type { MnistSet } from './mnist.js';
import { simShards } from './routes.js';

const ids = (s: MnistSet) => Array.from(s.ids!);

function expectDisjoint(train: number[], validation: number[], test: number[]) {
  const seen = new Set<number>();
  for (const id of [...train, ...validation, ...test]) {
    expect(seen.has(id), `digit ${id} is in two splits`).toBe(false);
    seen.add(id);
  }
}

describe('three disjoint splits (by source index)', () => {
  it('mnist: train / validation / test share no digit, and together are the whole package', () => {
    const { train, validation, test } = loadDataset('mnist');
    expectDisjoint(ids(train), ids(validation), ids(test));
    expect(new Set([...ids(train), ...ids(validation), ...ids(test)]).size).toBe(10_000);
  });

  it('fashion: 55,000 / 5,000 (stratified) / 10,000 from the Debian package, disjoint', () => {
    const { train, validation, test } = loadDataset('fashion');
    expect([train.n, validation.n, test.n]).toEqual([55_000, 5_000, 10_000]);
    expectDisjoint(ids(train), ids(validation), ids(test));
    const counts = new Array(10).fill(0);
    for (const c of validation.y) counts[c]++;
    expect(counts).toEqual(new Array(10).fill(FASHION_VALIDATION_PER_CLASS));
    expect(Math.max(...ids(test))).toBe(69_999);
    let max = 0;
    for (let i = 0; i < 784 * 100; i++) max = Math.max(max, train.x[i]!);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9);
  }, 60_000);

  it('shards cover every training digit by default and never a validation or test one', () => {
    for (const dataset of ['mnist', 'fashion'] as const) {
      const sim = simShards({ dataset, split: 'dirichlet:0.5', seed: 42, clients: 10 });
      const shardIds = sim.indices.flat().map((i) => sim.train.ids![i]!);
      expect(new Set(shardIds).size, dataset).toBe(sim.train.n);
      expectDisjoint(shardIds, ids(sim.validation), ids(sim.test));
    }
    // The cap stays an option.
    const capped = simShards({ split: 'iid', seed: 1, clients: 10, maxExamplesPerShard: 100 });
    expect(capped.indices.flat()).toHaveLength(1000);
  }, 60_000);

  it('refuses an unknown dataset with BAD_CONFIG', () => {
    let e: unknown = null;
    try {
      parseDataset('cifar');
    } catch (x) {
      e = x;
    }
    expect(isFedError(e, 'BAD_CONFIG')).toBe(true);
    expect(String((e as Error).message)).toMatch(/mnist or fashion/);
  });
});
