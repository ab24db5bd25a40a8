import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { fedOptStep } from '../fedopt/index.js';
import { fedyogi } from './index.js';

runStrategyContract(() => fedyogi);

const opts = { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.01 };

describe('fedyogi step (hand-computed, Reddi et al. 2021 Algorithm 2)', () => {
  it('one step from m = 0, v = τ²: v grows toward Δ² additively', () => {
    // Δ = [0.1, −0.2], v = 1e−4 < Δ² = [0.01, 0.04], so sign(v − Δ²) = −1 and v = v + (1 − β2)Δ²:
    // v = [1e−4 + 1e−4, 1e−4 + 4e−4] = [2e−4, 5e−4];  m = [0.01, −0.02]
    // x = 1 + 0.001/(√2e−4 + 0.01) = 1 + 0.1(√2 − 1)·… = 1.0414214 ;  2 − 0.002/(√5e−4 + 0.01) = 1.9381966
    const m = new Float32Array(2);
    const v = new Float32Array([1e-4, 1e-4]);
    const x = fedOptStep('yogi', opts, new Float32Array([1, 2]), new Float32Array([0.1, -0.2]), m, v);
    expect(v[0]).toBeCloseTo(2e-4, 9);
    expect(v[1]).toBeCloseTo(5e-4, 9);
    expect(x[0]).toBeCloseTo(1.0414214, 6);
    expect(x[1]).toBeCloseTo(1.9381966, 6);
  });

  it('when v > Δ², v shrinks by (1 − β2)Δ² only (slower than Adam’s decay)', () => {
    // m = [0.05], v = [1], Δ = [0.1]: v = 1 − 0.01·0.01 = 0.9999 (Adam would give 0.9901);
    // m = 0.055; step = 0.1·0.055/(√0.9999 + 0.01) = 0.0055/1.00995 = 0.0054458
    const m = new Float32Array([0.05]);
    const v = new Float32Array([1]);
    const x = fedOptStep('yogi', opts, new Float32Array([0]), new Float32Array([0.1]), m, v);
    expect(v[0]).toBeCloseTo(0.9999, 6);
    expect(x[0]).toBeCloseTo(0.0054458, 6);
  });
});
