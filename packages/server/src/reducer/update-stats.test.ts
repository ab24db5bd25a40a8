import { describe, expect, it } from 'vitest';
import { median, mergeUpdateStats, UpdateStats } from './update-stats.js';

describe('update statistics', () => {
  it('medians by hand, ignoring non-finite reports', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    const s = new UpdateStats();
    expect(s.summary()).toBeUndefined();
    for (const [c, n] of [[100, 1], [1e12, 50], [80, 2], [Infinity, 1]] as const) s.add(c, n);
    expect(s.summary()).toEqual({ n: 3, claimMedian: 100, normMedian: 2 });
  });

  it("merges combiners' medians weighted by their counts: one extreme combiner summary does not move it", () => {
    expect(mergeUpdateStats([undefined])).toBeUndefined();
    const merged = mergeUpdateStats([{ n: 3, claimMedian: 600, normMedian: 1 }, { n: 1, claimMedian: 1e12, normMedian: 9 }, undefined]);
    expect(merged).toEqual({ n: 4, claimMedian: 600, normMedian: 1 });
  });
});
