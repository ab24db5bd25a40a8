/**
 * Seeded pseudo-random numbers for reproducible simulation shards. Not for cryptography.
 *
 * Uniforms come from mulberry32 (Tommy Ettinger's 32-bit generator, public domain): small state, a full
 * 2^32 period and good enough statistics for shuffling and sampling shard sizes. Seeds are hashed with
 * FNV-1a so that string seeds and nearby integer seeds give unrelated streams.
 */

/** A seeded source of uniforms in [0, 1). */
export interface Rng {
  /** Next uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * Hashes a seed (number or string) into 32 bits with FNV-1a.
 * @example
 * ```ts
 * hashSeed('dirichlet:0.5/42'); // => a 32-bit unsigned integer, always the same
 * ```
 */
export function hashSeed(seed: number | string): number {
  const s = typeof seed === 'number' ? `n:${seed}` : `s:${seed}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates a seeded generator (mulberry32). The same seed always yields the same stream.
 * @example
 * ```ts
 * const rng = createRng(42);
 * const u = rng.next(); // in [0, 1)
 * const k = rng.int(10); // in 0..9
 * ```
 */
export function createRng(seed: number | string): Rng {
  let a = hashSeed(seed);
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/**
 * Shuffles an array in place (Fisher–Yates, Knuth vol. 2 §3.4.2, algorithm P) with a seeded generator.
 * @example
 * ```ts
 * shuffleInPlace([0, 1, 2, 3], createRng(1)); // a fixed permutation of 0..3
 * ```
 */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/**
 * A standard normal deviate (Box–Muller transform, Box & Muller 1958).
 * @example
 * ```ts
 * const z = sampleNormal(createRng(3));
 * ```
 */
export function sampleNormal(rng: Rng): number {
  // 1 - u keeps the argument of log in (0, 1].
  const u1 = 1 - rng.next();
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

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
      x = sampleNormal(rng);
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
