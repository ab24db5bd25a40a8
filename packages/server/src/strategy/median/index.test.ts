import { describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { median, medianOfSorted } from './index.js';

runStrategyContract(() => median);

describe('coordinate-wise median (Yin et al. 2018)', () => {
  it('takes the median of every coordinate, unweighted (hand-computed)', async () => {
    // Δ = [1, 10], [2, −5], [100, 0], [3, 1] (numExamples ignored)
    // coord 0 sorted [1, 2, 3, 100] -> (2+3)/2 = 2.5 ; coord 1 sorted [−5, 0, 1, 10] -> (0+1)/2 = 0.5
    const ctx = vectorContext(2);
    const o = median.optionsSchema.parse({});
    const ups = [await vectorUpdate([1, 10], 5), await vectorUpdate([2, -5], 1), await vectorUpdate([100, 0], 1000), await vectorUpdate([3, 1], 1)];
    const even = median.serverStep(o, {}, new Float32Array([0, 0]), await foldVectors(median, o, ctx, ups), ctx)!;
    expect(Array.from(even.model)).toEqual([2.5, 0.5]);
    // Odd count (first three): coord 0 [1, 2, 100] -> 2 ; coord 1 [−5, 0, 10] -> 0
    const odd = median.serverStep(o, {}, new Float32Array([1, 1]), await foldVectors(median, o, ctx, ups.slice(0, 3)), ctx)!;
    expect(Array.from(odd.model)).toEqual([3, 1]);
    expect(medianOfSorted(new Float32Array([7]))).toBe(7);
  });

  it('bounds its buffer: refuses beyond maxBufferBytes with BAD_CONFIG saying how much', async () => {
    // 2 params × 4 bytes = 8 bytes per update; 20 bytes hold 2 updates.
    const ctx = vectorContext(2);
    const o = median.optionsSchema.parse({ maxBufferBytes: 20 });
    expect(median.maxUpdates!(o, ctx)).toBe(2);
    const p = await foldVectors(median, o, ctx, [await vectorUpdate([1, 1]), await vectorUpdate([2, 2])]);
    const tools = (await import('../fold-tools.js')).createFoldTools({ layout: ctx.layout });
    try {
      await median.foldUpdate(o, p, await vectorUpdate([3, 3]), tools, ctx);
      expect.unreachable();
    } catch (e) {
      expect(isFedError(e, 'BAD_CONFIG')).toBe(true);
      expect((e as Error).message).toMatch(/3 updates × 2 params × 4 bytes = 24 bytes exceeds maxBufferBytes 20/);
    }
    expect(p.count).toBe(2);
    // Merging two full partials is refused the same way.
    expect(() => median.mergePartials(o, p, p, ctx)).toThrow(/maxBufferBytes/);
  });
});
