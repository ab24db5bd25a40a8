import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { trimCount, trimmedmean } from './index.js';

runStrategyContract(() => trimmedmean);
runStrategyContract(() => trimmedmean, { options: { trimFraction: 0.3 } });

describe('coordinate-wise trimmed mean (Yin et al. 2018)', () => {
  it('trims ceil(βk) per side, never everything', () => {
    expect(trimCount(8, 0.1)).toBe(1);
    expect(trimCount(10, 0.1)).toBe(1);
    expect(trimCount(10, 0.2)).toBe(2);
    expect(trimCount(3, 0.4)).toBe(1);
    expect(trimCount(2, 0.4)).toBe(0);
    expect(trimCount(5, 0)).toBe(0);
  });

  it('averages what is left after trimming (hand-computed)', async () => {
    // k = 5, β = 0.2 -> b = 1. coord 0: [1, 2, 3, 4, 100] -> mean(2, 3, 4) = 3
    // coord 1: [−50, 0, 1, 2, 3] -> mean(0, 1, 2) = 1
    const ctx = vectorContext(2);
    const o = trimmedmean.optionsSchema.parse({ trimFraction: 0.2 });
    const ups = await Promise.all([[1, 3], [2, 0], [100, -50], [4, 1], [3, 2]].map((d) => vectorUpdate(d, 7)));
    const out = trimmedmean.serverStep(o, {}, new Float32Array([10, 10]), await foldVectors(trimmedmean, o, ctx, ups), ctx)!;
    expect(Array.from(out.model)).toEqual([13, 11]);
    expect(out.metrics?.trimmedPerSide).toBe(1);
  });
});
