/**
 * Coordinate-wise trimmed mean (Yin et al. 2018, "Byzantine-Robust Distributed Learning: Towards Optimal
 * Statistical Rates", ICML 2018, Option II): for every coordinate, drop the b largest and b smallest of the
 * k client values and average the rest (unweighted):
 *
 *   x_{t+1} = x_t + trmean_β(Δ_1 … Δ_k),   b = min(⌈β k⌉, ⌊(k − 1)/2⌋)
 *
 * (⌈·⌉ so that a small round still trims: β = 0.1 with 8 clients trims 1 per side; the paper writes βk
 * assuming it is an integer). Memory: every update is buffered, see `../buffered.ts`.
 */
import { z } from 'zod';
import type { Strategy } from '../types.js';
export declare const TrimmedMeanOptionsSchema: z.ZodObject<{
    trimFraction: z.ZodDefault<z.ZodNumber>;
    maxBufferBytes: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>;
export type TrimmedMeanOptions = z.infer<typeof TrimmedMeanOptionsSchema>;
export type TrimmedMeanState = Record<string, never>;
/**
 * How many values are trimmed from each side for k updates: min(⌈βk⌉, ⌊(k − 1)/2⌋).
 * @example
 * ```ts
 * trimCount(8, 0.1); // 1
 * ```
 */
export declare function trimCount(k: number, beta: number): number;
/**
 * The trimmed-mean strategy (registered as `trimmedmean`).
 * @example
 * ```ts
 * parseStrategyOptions('trimmedmean', { trimFraction: 0.2 });
 * ```
 */
export declare const trimmedmean: Strategy<TrimmedMeanOptions, TrimmedMeanState>;
