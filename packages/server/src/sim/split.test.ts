import { describe, expect, it } from 'vitest';
import { formatSplit, labelHistogram, parseSplit, partition } from './split.js';
import { isFedError } from '@fedweb/codec';

/** 1,000 labels, 100 of each class 0..9, in class order (like the MNIST training pool). */
const labels = Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100));

const flat = (shards: number[][]) => shards.flat().sort((a, b) => a - b);
const classesOf = (shard: number[]) => new Set(shard.map((i) => labels[i]));

describe('parseSplit', () => {
  it('parses the three forms and prints them back', () => {
    expect(parseSplit('iid')).toEqual({ kind: 'iid' });
    expect(parseSplit('dirichlet:0.5')).toEqual({ kind: 'dirichlet', alpha: 0.5 });
    expect(parseSplit('labels:2')).toEqual({ kind: 'labels', k: 2 });
    expect(formatSplit(parseSplit('Dirichlet:0.50'))).toBe('dirichlet:0.5');
  });
  it('refuses bad splits with BAD_CONFIG', () => {
    for (const bad of ['dirichlet:0', 'dirichlet:-1', 'dirichlet:x', 'labels:0', 'labels:1.5', 'noniid', '']) {
      let caught: unknown;
      try {
        parseSplit(bad);
      } catch (e) {
        caught = e;
      }
      expect(isFedError(caught, 'BAD_CONFIG'), bad).toBe(true);
    }
  });
});

describe('partition', () => {
  it('iid: cuts into sizes differing by at most one, covering every index once', () => {
    const shards = partition(labels, 3, { kind: 'iid' }, 1);
    expect(shards.map((s) => s.length)).toEqual([334, 333, 333]);
    expect(flat(shards)).toEqual(labels.map((_, i) => i));
    // Shuffled: a shard of 333 IID draws holds every class.
    for (const s of shards) expect(classesOf(s).size).toBe(10);
  });

  it('iid: each shard holds roughly 10% of each class', () => {
    const shards = partition(labels, 10, { kind: 'iid' }, 'seed');
    for (const s of shards) {
      const h = labelHistogram(labels, s, 10);
      // Hypergeometric sd for 100 draws with p=0.1 is ~2.85; 10 +/- 9 is > 3 sd.
      for (const count of h) expect(Math.abs(count - 10)).toBeLessThanOrEqual(9);
    }
  });

  it('is deterministic in the seed and changes with it', () => {
    const a = partition(labels, 10, { kind: 'dirichlet', alpha: 0.5 }, 42);
    const b = partition(labels, 10, { kind: 'dirichlet', alpha: 0.5 }, 42);
    const c = partition(labels, 10, { kind: 'dirichlet', alpha: 0.5 }, 43);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(partition(labels, 4, { kind: 'iid' }, 'x')).toEqual(partition(labels, 4, { kind: 'iid' }, 'x'));
  });

  it('dirichlet: partitions exactly, respects the minimum size, and skews labels more as alpha shrinks', () => {
    const skew = (alpha: number) => {
      const shards = partition(labels, 10, { kind: 'dirichlet', alpha }, 7, { minShardSize: 10 });
      expect(flat(shards)).toEqual(labels.map((_, i) => i));
      for (const s of shards) expect(s.length).toBeGreaterThanOrEqual(10);
      // Mean over shards of the largest class fraction: 0.1 for perfectly balanced shards.
      return shards.reduce((acc, s) => acc + Math.max(...labelHistogram(labels, s, 10)) / s.length, 0) / shards.length;
    };
    const iid = partition(labels, 10, { kind: 'iid' }, 7).reduce((acc, s) => acc + Math.max(...labelHistogram(labels, s, 10)) / s.length, 0) / 10;
    const s100 = skew(100);
    const s05 = skew(0.5);
    const s01 = skew(0.1);
    expect(iid).toBeLessThan(0.2);
    expect(s100).toBeLessThan(0.25);
    expect(s05).toBeGreaterThan(0.3);
    expect(s01).toBeGreaterThan(s05);
  });

  it('dirichlet: gives up with BAD_CONFIG when the minimum size cannot be met', () => {
    let caught: unknown;
    try {
      partition(labels, 10, { kind: 'dirichlet', alpha: 0.01 }, 1, { minShardSize: 100, maxTries: 5 });
    } catch (e) {
      caught = e;
    }
    expect(isFedError(caught, 'BAD_CONFIG')).toBe(true);
  });

  it('labels:2: every shard holds exactly two classes, and each class is split evenly among its holders', () => {
    const shards = partition(labels, 10, { kind: 'labels', k: 2 }, 3);
    for (const s of shards) expect(classesOf(s).size).toBe(2);
    // 10 shards x 2 labels = 20 slots over 10 classes: every class is held by exactly 2 shards, 50 examples each.
    for (const s of shards) expect(s.length).toBe(100);
    expect(flat(shards)).toEqual(labels.map((_, i) => i));
    for (const s of shards) for (const count of labelHistogram(labels, s, 10)) expect([0, 50]).toContain(count);
  });

  it('labels:k with fewer slots than classes leaves unheld classes out', () => {
    const shards = partition(labels, 2, { kind: 'labels', k: 3 }, 3);
    expect(shards.map((s) => classesOf(s).size)).toEqual([3, 3]);
    expect(shards.flat().length).toBe(600);
    expect(() => partition(labels, 2, { kind: 'labels', k: 11 }, 3)).toThrow(/more classes/);
  });

  it('refuses impossible shard counts', () => {
    expect(() => partition(labels, 0, { kind: 'iid' }, 1)).toThrow(/>= 1/);
    expect(() => partition(labels, 1001, { kind: 'iid' }, 1)).toThrow(/cannot be cut/);
  });
});

describe('labelHistogram', () => {
  it('counts labels at the given indices', () => {
    expect(labelHistogram([0, 1, 1, 2], [0, 1, 2], 3)).toEqual([1, 2, 0]);
  });
});
