import { describe, expect, it } from 'vitest';
import { createRng } from '@fedweb/codec';
import { sampleDirichlet, sampleGamma } from './distributions.js';

describe('seeded distributions', () => {
  it('samples Gamma(k, 1) with mean k and variance k (Marsaglia-Tsang, both shape branches)', () => {
    for (const shape of [0.5, 2, 5]) {
      const rng = createRng(`gamma-${shape}`);
      const n = 40_000;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        const g = sampleGamma(shape, rng);
        expect(g).toBeGreaterThanOrEqual(0);
        sum += g;
        sq += g * g;
      }
      const mean = sum / n;
      const variance = sq / n - mean * mean;
      // Standard error of the mean is sqrt(k / n) <= 0.012 here; allow ~4 standard errors.
      expect(Math.abs(mean - shape)).toBeLessThan(0.05);
      expect(Math.abs(variance - shape) / shape).toBeLessThan(0.1);
    }
    expect(() => sampleGamma(0, createRng(1))).toThrow(RangeError);
  });

  it('samples Dirichlet vectors on the simplex whose spread shrinks as alpha grows', () => {
    const spread = (alpha: number) => {
      const rng = createRng(`dir-${alpha}`);
      let maxSum = 0;
      for (let t = 0; t < 500; t++) {
        const p = sampleDirichlet(alpha, 10, rng);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        maxSum += Math.max(...p);
      }
      return maxSum / 500;
    };
    // E[max] for Dir(100) over 10 categories is just above 1/10; for Dir(0.1) it is well above 1/2.
    expect(spread(100)).toBeLessThan(0.15);
    expect(spread(0.1)).toBeGreaterThan(0.5);
  });
});
