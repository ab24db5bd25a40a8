import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { fedOptStep } from '../fedopt/index.js';
import type { StrategyContext } from '../types.js';
import { fedadam } from './index.js';

runStrategyContract(() => fedadam);
runStrategyContract(() => fedadam, { options: { eta: 0.1, beta1: 0.5, beta2: 0.9, tau: 1e-2 } });

const opts = { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.01 };

describe('fedadam step (hand-computed, Reddi et al. 2021 Algorithm 2)', () => {
  it('one step from m = 0, v = τ²', () => {
    // Δ = [0.1, −0.2], x = [1, 2], η = 0.1, β1 = 0.9, β2 = 0.99, τ = 0.01, v_{−1} = τ² = 1e−4.
    // m = 0.1·Δ = [0.01, −0.02]
    // v = 0.99·1e−4 + 0.01·Δ² = [0.99e−4 + 1e−4, 0.99e−4 + 4e−4] = [1.99e−4, 4.99e−4]
    // x + η m/(√v + τ) = 1 + 0.001/(0.0141067 + 0.01) = 1.0414822 ;  2 − 0.002/(0.0223383 + 0.01) = 1.9381538
    const m = new Float32Array(2);
    const v = new Float32Array([1e-4, 1e-4]);
    const x = fedOptStep('adam', opts, new Float32Array([1, 2]), new Float32Array([0.1, -0.2]), m, v);
    expect(x[0]).toBeCloseTo(1.0414822, 6);
    expect(x[1]).toBeCloseTo(1.9381538, 6);
    expect(m[0]).toBeCloseTo(0.01, 7);
    expect(v[1]).toBeCloseTo(4.99e-4, 9);
  });

  it('second moment decays (v = β2 v + (1 − β2) Δ²)', () => {
    // m = [0.05], v = [1], Δ = [0.1]: m = 0.045 + 0.01 = 0.055; v = 0.99 + 1e−4 = 0.9901;
    // step = 0.1·0.055/(√0.9901 + 0.01) = 0.0055/1.0050376 = 0.0054724
    const m = new Float32Array([0.05]);
    const v = new Float32Array([1]);
    const x = fedOptStep('adam', opts, new Float32Array([0]), new Float32Array([0.1]), m, v);
    expect(v[0]).toBeCloseTo(0.9901, 6);
    expect(x[0]).toBeCloseTo(0.0054724, 6);
  });

  it('server step uses the example-weighted mean and keeps state', () => {
    const ctx: StrategyContext = { sessionId: 's', round: 1, layout: [{ name: 'w0', shape: [2] }], paramCount: 2, seed: 1 };
    // sum = [0.4, −0.8] over weight 4 -> Δ = [0.1, −0.2]: same numbers as the first test.
    const o = fedadam.optionsSchema.parse(opts);
    const state = fedadam.initState(o, new Float32Array([1, 2]), ctx);
    expect(Array.from(state.v)).toEqual([Math.fround(1e-4), Math.fround(1e-4)]);
    const res = fedadam.serverStep(o, state, new Float32Array([1, 2]), { count: 2, weight: 4, tensors: { sum: new Float32Array([0.4, -0.8]) }, scalars: {} }, ctx)!;
    expect(res.model[0]).toBeCloseTo(1.0414822, 6);
    expect(res.model[1]).toBeCloseTo(1.9381538, 6);
    expect(res.state.step).toBe(1);
    // The input state was not mutated (strategies are pure).
    expect(Array.from(state.m)).toEqual([0, 0]);
  });
});
