/**
 * Coordinate-wise median (Yin et al. 2018, "Byzantine-Robust Distributed Learning: Towards Optimal
 * Statistical Rates", ICML 2018, Option I): the new model is x_t + med_i(Δ_i), the median taken
 * independently for every coordinate (mean of the two middle values for an even count), unweighted.
 * One client sending a huge update moves each coordinate by at most one rank.
 *
 * Memory: every update is buffered (updates × params × 4 bytes), bounded by `maxBufferBytes`; see
 * `../buffered.ts`. On strongly non-IID data the median discards the minority's signal (coordinates that
 * only a few clients move), so it trades accuracy for robustness.
 */
import { z } from 'zod';
import { coordinateWiseStrategy, maxBufferBytesOption } from '../buffered.js';
import type { Strategy } from '../types.js';

export const MedianOptionsSchema = z.strictObject({
  /** Bound on the buffered updates, bytes (updates × params × 4). */
  maxBufferBytes: maxBufferBytesOption,
});
export type MedianOptions = z.infer<typeof MedianOptionsSchema>;
export type MedianState = Record<string, never>;

/**
 * The median of an ascending sorted array (mean of the two middle values for an even length).
 * @example
 * ```ts
 * medianOfSorted(new Float32Array([1, 2, 10, 100])); // 6
 * ```
 */
export function medianOfSorted(v: Float32Array): number {
  const k = v.length;
  const h = k >> 1;
  return k % 2 === 1 ? v[h]! : (v[h - 1]! + v[h]!) / 2;
}

/**
 * The coordinate-wise median strategy (registered as `median`).
 * @example
 * ```ts
 * median.maxUpdates!({ maxBufferBytes: 2 ** 29 }, ctx); // how many updates a round may fold
 * ```
 */
export const median: Strategy<MedianOptions, MedianState> = coordinateWiseStrategy({
  name: 'median',
  description: 'Coordinate-wise median of client deltas, robust to outliers (Yin et al. 2018); buffers updates',
  optionsSchema: MedianOptionsSchema,
  reduceFor: () => ({ reduce: medianOfSorted, metrics: {} }),
});
