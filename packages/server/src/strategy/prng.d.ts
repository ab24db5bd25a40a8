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
export declare function createRng(seed: number): Rng;
/**
 * Mixes a session seed with a round number into a new 32-bit seed (so every round draws fresh noise).
 * @example
 * ```ts
 * const seed = mixSeed(sessionSeed, round);
 * ```
 */
export declare function mixSeed(seed: number, salt: number): number;
