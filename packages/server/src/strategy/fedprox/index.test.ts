import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { fedprox } from './index.js';

runStrategyContract(() => fedprox);
runStrategyContract(() => fedprox, { options: { mu: 1 } });

describe('fedprox', () => {
  it('tells clients mu through configureFit (settings.strategy.mu)', () => {
    const ctx = vectorContext(2);
    expect(fedprox.configureFit(fedprox.optionsSchema.parse({}), {}, ctx)).toEqual({ mu: 0.01 });
    expect(fedprox.configureFit({ mu: 0.5 }, {}, ctx)).toEqual({ mu: 0.5 });
    expect(fedprox.optionsSchema.safeParse({ mu: -1 }).success).toBe(false);
  });

  it('aggregates like FedAvg on the server (hand-computed)', async () => {
    // n=1 Δ=[1,2], n=3 Δ=[−1,2] -> mean Δ = [−0.5, 2]; global [10, 20] -> [9.5, 22]
    const ctx = vectorContext(2);
    const merged = await foldVectors(fedprox, { mu: 0.1 }, ctx, [await vectorUpdate([1, 2], 1), await vectorUpdate([-1, 2], 3)]);
    const out = fedprox.serverStep({ mu: 0.1 }, {}, new Float32Array([10, 20]), merged, ctx)!;
    expect(Array.from(out.model)).toEqual([9.5, 22]);
  });
});
