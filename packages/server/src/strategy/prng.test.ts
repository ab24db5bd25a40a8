import { describe, expect, it } from 'vitest';
import { createRng, mixSeed } from './prng.js';

describe('seeded PRNG', () => {
  it('repeats for a seed and differs across seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    expect(mixSeed(1, 2)).not.toBe(mixSeed(1, 3));
  });

  it('draws uniforms in [0, 1) and standard normals with the right moments', () => {
    const rng = createRng(123);
    let min = 1, max = 0, s = 0, s2 = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      min = Math.min(min, u);
      max = Math.max(max, u);
      const g = rng.gaussian();
      s += g;
      s2 += g * g;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // mean 0 ± 5 standard errors (1/√n ≈ 0.0022), variance 1 ± 2%
    expect(Math.abs(s / n)).toBeLessThan(0.011);
    expect(s2 / n).toBeGreaterThan(0.98);
    expect(s2 / n).toBeLessThan(1.02);
  });
});
