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
import { coordinateWiseStrategy, maxBufferBytesOption } from '../buffered.js';
import type { Strategy } from '../types.js';

export const TrimmedMeanOptionsSchema = z.strictObject({
  /** β ∈ [0, 0.5): the fraction trimmed from each side (Yin et al. assume β < 1/2). */
  trimFraction: z.number().min(0).lt(0.5).default(0.1),
  /** Bound on the buffered updates, bytes (updates × params × 4). */
  maxBufferBytes: maxBufferBytesOption,
});
export type TrimmedMeanOptions = z.infer<typeof TrimmedMeanOptionsSchema>;
export type TrimmedMeanState = Record<string, never>;

/**
 * How many values are trimmed from each side for k updates: min(⌈βk⌉, ⌊(k − 1)/2⌋).
 * @example
 * ```ts
 * trimCount(8, 0.1); // 1
 * ```
 */
export function trimCount(k: number, beta: number): number {
  // The epsilon keeps 0.1 × 10 = 1.0000000000000002 from rounding up to 2.
  return Math.max(0, Math.min(Math.ceil(beta * k - 1e-9), Math.floor((k - 1) / 2)));
}

/**
 * The trimmed-mean strategy (registered as `trimmedmean`).
 * @example
 * ```ts
 * parseStrategyOptions('trimmedmean', { trimFraction: 0.2 });
 * ```
 */
export const trimmedmean: Strategy<TrimmedMeanOptions, TrimmedMeanState> = coordinateWiseStrategy({
  name: 'trimmedmean',
  description: 'Coordinate-wise trimmed mean of client deltas (Yin et al. 2018); buffers updates',
  optionsSchema: TrimmedMeanOptionsSchema,
  reduceFor(o, k) {
    const b = trimCount(k, o.trimFraction);
    const keep = k - 2 * b;
    const reduce = (v: Float32Array): number => {
      let s = 0;
      for (let j = b; j < k - b; j++) s += v[j]!;
      return s / keep;
    };
    return { reduce, metrics: { trimmedPerSide: b } };
  },
});
