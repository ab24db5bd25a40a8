import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { fedOptStep } from '../fedopt/index.js';
import { fedadagrad } from './index.js';

runStrategyContract(() => fedadagrad);

describe('fedadagrad step (hand-computed, Reddi et al. 2021 Algorithm 2)', () => {
  it('accumulates Δ² without decay', () => {
    // Δ = [0.1, −0.2], v = τ² = 1e−4 -> v = [0.0101, 0.0401]; m = [0.01, −0.02]
    // x = 1 + 0.1·0.01/(√0.0101 + 0.01) = 1 + 0.001/0.1104988 = 1.0090499
    //     2 − 0.1·0.02/(√0.0401 + 0.01) = 2 − 0.002/0.2102498 = 1.9904875
    const opts = { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 0.01 };
    const m = new Float32Array(2);
    const v = new Float32Array([1e-4, 1e-4]);
    const x = fedOptStep('adagrad', opts, new Float32Array([1, 2]), new Float32Array([0.1, -0.2]), m, v);
    expect(v[0]).toBeCloseTo(0.0101, 7);
    expect(v[1]).toBeCloseTo(0.0401, 7);
    expect(x[0]).toBeCloseTo(1.0090499, 6);
    expect(x[1]).toBeCloseTo(1.9904875, 6);
    // A second identical Δ: v keeps growing without decay, v = 0.0201; m = 0.9·0.01 + 0.1·0.1 = 0.019;
    // x = 1.0090499 + 0.1·0.019/(√0.0201 + 0.01) = 1.0090499 + 0.0019/0.1517745 = 1.0215684
    const x2 = fedOptStep('adagrad', opts, x, new Float32Array([0.1, -0.2]), m, v);
    expect(v[0]).toBeCloseTo(0.0201, 7);
    expect(m[0]).toBeCloseTo(0.019, 7);
    expect(x2[0]).toBeCloseTo(1.0215684, 6);
  });
});
