import { describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { fedbuff, stalenessWeight } from './index.js';

runStrategyContract(() => fedbuff);
runStrategyContract(() => fedbuff, { options: { weighting: 'examples', stalenessExponent: 1, serverLearningRate: 0.5 } });

describe('fedbuff (Nguyen et al. 2022)', () => {
  it('weights stale updates by 1/sqrt(1+s)', () => {
    expect(stalenessWeight(0, 0.5)).toBe(1);
    expect(stalenessWeight(3, 0.5)).toBe(0.5);
    expect(stalenessWeight(8, 0.5)).toBeCloseTo(1 / 3, 12);
    expect(stalenessWeight(5, 0)).toBe(1);
  });

  it('steps by the staleness-weighted buffer mean (hand-computed)', async () => {
    // Δ1 = [1, 2] fresh (s=0, weight 1), Δ2 = [3, −1] with s=3 (weight 1/√4 = 0.5).
    // uniform: sum = [1,2] + 0.5·[3,−1] = [2.5, 1.5]; divided by K = 2 -> [1.25, 0.75]; η_g = 1.
    const ctx = vectorContext(2);
    const o = fedbuff.optionsSchema.parse({ bufferSize: 2 });
    const ups = [await vectorUpdate([1, 2], 1, 0), await vectorUpdate([3, -1], 3, 3)];
    const out = fedbuff.serverStep(o, {}, new Float32Array([0, 0]), await foldVectors(fedbuff, o, ctx, ups), ctx)!;
    expect(Array.from(out.model)).toEqual([1.25, 0.75]);
    expect(out.metrics?.meanStaleness).toBe(1.5);
    // examples (n1 = 1, n2 = 3): sum = [1,2] + 3·0.5·[3,−1] = [5.5, 0.5]; / (1 + 3) -> [1.375, 0.125]; η_g = 2 doubles it.
    const oe = fedbuff.optionsSchema.parse({ weighting: 'examples', serverLearningRate: 2 });
    const out2 = fedbuff.serverStep(oe, {}, new Float32Array([0, 0]), await foldVectors(fedbuff, oe, ctx, ups), ctx)!;
    expect(Array.from(out2.model)).toEqual([2.75, 0.25]);
  });

  it('refuses updates older than maxStaleness with STALE_ROUND', async () => {
    const ctx = vectorContext(2);
    const o = fedbuff.optionsSchema.parse({ maxStaleness: 2 });
    await expect(foldVectors(fedbuff, o, ctx, [await vectorUpdate([1, 1], 1, 3)])).rejects.toSatisfy((e) => isFedError(e, 'STALE_ROUND'));
    expect(fedbuff.asyncConfig!(o)).toEqual({ bufferSize: 10, maxStaleness: 2 });
  });
});
