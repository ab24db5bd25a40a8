import { describe, expect, it } from 'vitest';
import { computeRdp, DEFAULT_RDP_ORDERS, dpEpsilon, epsilonFromRdp } from './rdp.js';

// Reference values from TF-Privacy's own tests (tensorflow_privacy/privacy/analysis/rdp_accountant_test.py
// and compute_dp_sgd_privacy_test.py), which compare against multi-precision integration. Checked against
// github.com/tensorflow/privacy at commit 09270afed61a4e9ef6295217b53731f7515f0350: test_compute_rdp_scalar
// (0.07737, 5 places), test_compute_rdp_sequence (0.00218075, 0.023846, 167.416307, ±1e-5),
// test_compute_rdp_no_data / _no_sampling (0, 0.1), test_get_privacy_spent_check_target_delta (1.32783806176, order 32).
describe('RDP accountant for the sampled Gaussian mechanism', () => {
  it('matches TF-Privacy compute_rdp at integer orders', () => {
    // test_compute_rdp_scalar: compute_rdp(q=0.1, σ=2, steps=10, order=5) = 0.07737 (5 places)
    expect(computeRdp(0.1, 2, 10, [5])[0]).toBeCloseTo(0.07737, 5);
    // test_compute_rdp_sequence: compute_rdp(0.01, 2.5, 50, [.., 5, 50, 100, ..]) = [.., 0.00218075, 0.023846, 167.416307, ..] (±1e-5)
    const [r5, r50, r100] = computeRdp(0.01, 2.5, 50, [5, 50, 100]);
    expect(Math.abs(r5! - 0.00218075)).toBeLessThan(1e-5);
    expect(Math.abs(r50! - 0.023846)).toBeLessThan(1e-5);
    expect(Math.abs(r100! - 167.416307)).toBeLessThan(1e-5 * 167.416307);
  });

  it('handles the degenerate sampling rates like TF-Privacy', () => {
    expect(computeRdp(0, 10, 1, [20])[0]).toBe(0); // no data
    expect(computeRdp(1, 10, 1, [20])[0]).toBeCloseTo(0.1, 12); // α/(2σ²) = 20/200
    expect(computeRdp(0.5, 0, 1, [2])[0]).toBe(Infinity);
  });

  it('converts RDP to (ε, δ) with the Balle et al. 2020 bound', () => {
    // test_get_privacy_spent_check_target_delta: constant RDP 1.1 at orders 2..32, δ=1e-5 -> ε = 1.32783806176 at order 32.
    // By hand at α=32: 1.1 + ln(31/32) − (ln 1e-5 + ln 32)/31 = 1.1 − 0.031749 + 0.259587 = 1.327838.
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const { epsilon, order } = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5);
    expect(order).toBe(32);
    expect(epsilon).toBeCloseTo(1.32783806176, 9);
  });

  it("matches TF-Privacy compute_dp_sgd_privacy's published ε", () => {
    // Test0: n=60000, batch 150, σ=1.3, 15 epochs, δ=1e-5 -> ε = 0.7242234026109595 at order 19.
    // q = 150/60000 = 0.0025; steps = 15 · 60000 / 150 = 6000.
    const rdp0 = computeRdp(150 / 60000, 1.3, 6000);
    const r0 = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp0, 1e-5);
    expect(r0.order).toBe(19);
    expect(r0.epsilon).toBeCloseTo(0.7242234026109595, 6);
    // Test1: n=100000, batch 100, σ=1.0, 30 epochs, δ=1e-7 -> ε = 1.4154988495444842 at order 13.
    const r1 = epsilonFromRdp(DEFAULT_RDP_ORDERS, computeRdp(100 / 100000, 1.0, 30000), 1e-7);
    expect(r1.order).toBe(13);
    expect(r1.epsilon).toBeCloseTo(1.4154988495444842, 6);
  });

  it('is a safe (slightly larger) bound where TF-Privacy also uses fractional orders', () => {
    // compute_dp_sgd_privacy_test: 1.2 epochs, σ=0.7, Poisson q=1e-2, δ=1e-5 -> ε = 3.2392676 (RDP, fractional orders).
    const a = dpEpsilon({ q: 0.01, noiseMultiplier: 0.7, steps: 120, delta: 1e-5 });
    expect(a).toBeGreaterThanOrEqual(3.2392676);
    expect(a).toBeLessThan(3.2392676 * 1.07);
    // DP-SGD statement: 10,000 examples, batch 64, 5 epochs, σ=2 with microbatching (sensitivity doubled: σ_eff = 1), δ=1e-6 -> 1.616.
    const b = dpEpsilon({ q: 64 / 10000, noiseMultiplier: 1, steps: Math.ceil((5 * 10000) / 64), delta: 1e-6 });
    expect(b).toBeGreaterThanOrEqual(1.616);
    expect(b).toBeLessThan(1.616 * 1.03);
  });

  it('is within the moments accountant bound of Abadi et al. 2016', () => {
    // Abadi et al. 2016 §3.1: q=0.01, σ=4, δ=1e-5, T=10,000 -> ε ≈ 1.26 with the moments accountant.
    // RDP with the improved conversion is at least as tight, and not absurdly smaller.
    const eps = dpEpsilon({ q: 0.01, noiseMultiplier: 4, steps: 10_000, delta: 1e-5 });
    expect(eps).toBeLessThanOrEqual(1.26);
    expect(eps).toBeGreaterThan(0.8);
  });

  it('grows with steps and shrinks with noise', () => {
    const a = dpEpsilon({ q: 0.1, noiseMultiplier: 1, steps: 100, delta: 1e-5 });
    const b = dpEpsilon({ q: 0.1, noiseMultiplier: 1, steps: 1000, delta: 1e-5 });
    const c = dpEpsilon({ q: 0.1, noiseMultiplier: 2, steps: 1000, delta: 1e-5 });
    expect(b).toBeGreaterThan(a);
    expect(c).toBeLessThan(b);
  });
});
