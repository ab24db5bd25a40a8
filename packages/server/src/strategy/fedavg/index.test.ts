import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import type { StrategyContext } from '../types.js';
import { fedavg } from './index.js';

runStrategyContract(() => fedavg);

const ctx: StrategyContext = { sessionId: 's', round: 1, layout: [{ name: 'w0', shape: [2] }], paramCount: 2, seed: 1 };

describe('fedavg server step (hand-computed)', () => {
  it('adds the example-weighted mean delta to the global model', () => {
    // Client A: n=1, Δ=[1, 2]; client B: n=3, Δ=[−1, 2].
    // sum = 1·[1,2] + 3·[−1,2] = [−2, 8]; weight = 4; mean Δ = [−0.5, 2].
    // global [10, 20] -> [9.5, 22].
    const merged = { count: 2, weight: 4, tensors: { sum: new Float32Array([-2, 8]) }, scalars: {} };
    const out = fedavg.serverStep({}, {}, new Float32Array([10, 20]), merged, ctx);
    expect(Array.from(out!.model)).toEqual([9.5, 22]);
  });

  it('keeps the previous model (null) when no weight arrived', () => {
    const merged = { count: 1, weight: 0, tensors: { sum: new Float32Array(2) }, scalars: {} };
    expect(fedavg.serverStep({}, {}, new Float32Array([1, 2]), merged, ctx)).toBeNull();
  });

  it('merges partials by adding sums and weights', () => {
    const a = { count: 1, weight: 1, tensors: { sum: new Float32Array([1, 2]) }, scalars: {} };
    const b = { count: 2, weight: 3, tensors: { sum: new Float32Array([-3, 6]) }, scalars: {} };
    const m = fedavg.mergePartials({}, a, b, ctx);
    expect(m.count).toBe(3);
    expect(m.weight).toBe(4);
    expect(Array.from(m.tensors.sum!)).toEqual([-2, 8]);
  });
});
