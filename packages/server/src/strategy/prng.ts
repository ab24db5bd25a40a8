/**
 * A small seeded PRNG for strategies (they must never call `Math.random`): xoshiro128** (Blackman & Vigna,
 * "Scrambled linear pseudorandom number generators", 2021) seeded through splitmix32. It is not a
 * cryptographic generator: central-DP noise is only private if the seed (`ctx.seed`) is secret and unpredictable.
 *
 * Why not a library: the DP strategy draws one Gaussian per parameter per round (1M+), so the generator is
 * inlined state in a closure with no allocation per draw; the algorithm is 10 lines and tested below.
 */

/** A deterministic random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal N(0, 1) (Box-Muller; caches the second value). */
  gaussian(): number;
  /** `out[i] += std * N(0,1)` for every i. */
  addGaussian(out: Float32Array, std: number): void;
}

/**
 * Creates a seeded {@link Rng}. The same seed gives the same sequence on every platform.
 * @example
 * ```ts
 * const rng = createRng(ctx.seed);
 * const noise = new Float32Array(10);
 * rng.addGaussian(noise, 0.5);
 * ```
 */
export function createRng(seed: number): Rng {
  // splitmix32 expands one 32-bit seed into the 128-bit xoshiro state (never all zero).
  let sm = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  const splitmix = (): number => {
    sm = (sm + 0x9e3779b9) >>> 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix(), s1 = splitmix(), s2 = splitmix(), s3 = splitmix();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    s0 >>>= 0; s1 >>>= 0;
    return result;
  };
  // 53-bit uniform from two draws.
  const next = (): number => ((nextU32() >>> 5) * 67108864 + (nextU32() >>> 6)) / 9007199254740992;

  let spare = NaN;
  const gaussian = (): number => {
    if (!Number.isNaN(spare)) {
      const v = spare;
      spare = NaN;
      return v;
    }
    // Box-Muller (1958); 1 - next() lies in (0, 1] so the log is finite.
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const addGaussian = (out: Float32Array, std: number): void => {
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + std * gaussian();
  };
  return { next, gaussian, addGaussian };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Mixes a session seed with a round number into a new 32-bit seed (so every round draws fresh noise).
 * @example
 * ```ts
 * const seed = mixSeed(sessionSeed, round);
 * ```
 */
export function mixSeed(seed: number, salt: number): number {
  let h = (Math.floor(seed) ^ Math.imul(Math.floor(salt) + 0x7f4a7c15, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}
