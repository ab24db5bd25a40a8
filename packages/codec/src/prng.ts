/**
 * The one seeded pseudo-random generator of fedweb (client sampling, simulation shards, epoch shuffles, seed
 * models, strategy randomness, benchmarks and fuzzing). Not for secrets: where secrecy matters (keys, tokens,
 * noise that must stay private) use the platform's CSPRNG (`crypto.getRandomValues`).
 *
 * xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4), 2021),
 * 128 bits of state expanded from a 32-bit seed by splitmix32; string seeds are hashed to 32 bits with FNV-1a
 * (Fowler, Noll & Vo; IETF draft-eastlake-fnv). The same seed gives the same stream on every platform. The state
 * lives in a closure with no allocation per draw: the DP strategy draws one Gaussian per parameter per round.
 */

/** A deterministic random source. */
export interface Rng {
  /** Uniform in [0, 1) (53 bits). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal N(0, 1) (Box & Muller 1958; caches the second value). */
  gaussian(): number;
  /** `out[i] += std * N(0, 1)` for every i. */
  addGaussian(out: Float32Array, std: number): void;
}

/**
 * Hashes a string seed into 32 bits with FNV-1a; a number seed is floored to 32 bits as it is.
 * @example
 * ```ts
 * hashSeed('dirichlet:0.5/42'); // a 32-bit unsigned integer, always the same
 * hashSeed(7); // 7
 * ```
 */
export function hashSeed(seed: number | string): number {
  if (typeof seed === 'number') return Math.floor(seed) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates a seeded {@link Rng}.
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng.next(); // in [0, 1)
 * rng.int(10); // in 0..9
 * rng.addGaussian(noise, 0.5);
 * ```
 */
export function createRng(seed: number | string): Rng {
  let sm = (hashSeed(seed) ^ 0x9e3779b9) >>> 0;
  const splitmix = (): number => {
    sm = (sm + 0x9e3779b9) >>> 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix();
  let s1 = splitmix();
  let s2 = splitmix();
  let s3 = splitmix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    s0 >>>= 0;
    s1 >>>= 0;
    return result;
  };
  const next = (): number => ((nextU32() >>> 5) * 67108864 + (nextU32() >>> 6)) / 9007199254740992;

  let spare = NaN;
  const gaussian = (): number => {
    if (!Number.isNaN(spare)) {
      const v = spare;
      spare = NaN;
      return v;
    }
    // 1 - next() lies in (0, 1], so the log is finite.
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const addGaussian = (out: Float32Array, std: number): void => {
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + std * gaussian();
  };
  return { next, int: (n: number) => Math.floor(next() * n), gaussian, addGaussian };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Mixes a seed with a salt (a round number, an epoch) into a new 32-bit seed, so each round draws afresh.
 * @example
 * ```ts
 * mixSeed(sessionSeed, round) !== mixSeed(sessionSeed, round + 1)
 * ```
 */
export function mixSeed(seed: number, salt: number): number {
  let h = (Math.floor(seed) ^ Math.imul(Math.floor(salt) + 0x7f4a7c15, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * Shuffles in place (Fisher & Yates; Knuth, TAOCP vol. 2 §3.4.2, algorithm P) with a seeded generator.
 * @example
 * ```ts
 * shuffleInPlace([0, 1, 2, 3], createRng(1)); // a fixed permutation of 0..3
 * ```
 */
export function shuffleInPlace<T, A extends { length: number; [i: number]: T }>(items: A, rng: Rng): A {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
