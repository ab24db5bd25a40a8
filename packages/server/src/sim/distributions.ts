/**
 * Seeded draws from the distributions simulation shards need (Gamma, Dirichlet), over the one seeded generator
 * of `@fedweb/codec`. Not for cryptography.
 */
import type { Rng } from '@fedweb/codec';

/**
 * A Gamma(shape, 1) deviate by Marsaglia & Tsang, "A simple method for generating gamma variables",
 * ACM TOMS 26(3), 2000. For shape < 1 it uses their boosting identity Gamma(a) = Gamma(a + 1) * U^(1/a).
 * @example
 * ```ts
 * const g = sampleGamma(0.5, createRng(7)); // > 0
 * ```
 */
export function sampleGamma(shape: number, rng: Rng): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be a positive finite number, got ${shape}`);
  if (shape < 1) {
    const u = 1 - rng.next();
    return sampleGamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.gaussian();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * A draw from the symmetric Dirichlet(alpha, ..., alpha) on `k` categories: normalised independent
 * Gamma(alpha, 1) deviates (the standard construction, e.g. Devroye 1986, ch. XI).
 * @example
 * ```ts
 * const p = sampleDirichlet(0.5, 10, createRng(1)); // 10 non-negative numbers summing to 1
 * ```
 */
export function sampleDirichlet(alpha: number, k: number, rng: Rng): number[] {
  const g = Array.from({ length: k }, () => sampleGamma(alpha, rng));
  const sum = g.reduce((a, b) => a + b, 0);
  // With tiny alpha every gamma can underflow to 0; fall back to one category chosen uniformly.
  if (!(sum > 0)) {
    const out = new Array<number>(k).fill(0);
    out[rng.int(k)] = 1;
    return out;
  }
  return g.map((x) => x / sum);
}
