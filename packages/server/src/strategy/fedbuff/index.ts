/**
 * FedBuff (Nguyen et al. 2022, "Federated Learning with Buffered Asynchronous Aggregation", AISTATS 2022,
 * Algorithm 1): clients train continuously from whatever model version they last received; the server folds
 * each arriving delta into a buffer and, once K deltas are in, steps
 *
 *   x_{v+1} = x_v + η_g · Σ_i s(τ_i) w_i Δ_i / Σ_i w_i,     s(τ) = (1 + τ)^(−a)   (a = 0.5: 1/√(1+τ))
 *
 * where τ_i is the staleness of update i (model versions between the one it trained on and the current one)
 * and w_i = 1 (`weighting: 'uniform'`, the paper's choice: Σ w_i = K) or numExamples (`'examples'`).
 * Stale updates are down-weighted, not renormalised, as in the paper, so a buffer of old updates moves the
 * model less.
 *
 * How the controller drives it (`mode: 'async'`):
 *  - There is no round barrier. `ctx.round` is the model version. Clients are sent `task.train` whenever
 *    they are idle, with the current version; the update's `staleness` = current version − its base version.
 *  - `asyncConfig(options)` gives `bufferSize` K and `maxStaleness`; `foldUpdate` refuses older updates
 *    with STALE_ROUND (the client should then fetch the current model and train again).
 *  - Combiners fold each update (with its staleness) and forward it to the controller at once; once the
 *    buffer holds K updates across combiners the controller merges, calls `serverStep`, commits version v+1
 *    and announces it. Updates arriving meanwhile go to the next buffer (`Controller.runAsync`).
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { exampleWeight, stepFrom } from '../common.js';
import type { Strategy } from '../types.js';
import { createSumPartial, foldWeighted, meanDelta, mergeSums } from '../weighted-sum.js';

export const FedBuffOptionsSchema = z.strictObject({
  /** K: updates per server step (the paper uses K = 10 for most experiments). */
  bufferSize: z.number().int().min(1).max(100_000).default(10),
  /** Server learning rate η_g. */
  serverLearningRate: z.number().positive().finite().default(1),
  /** a in s(τ) = (1 + τ)^−a; 0.5 gives the paper's 1/√(1+τ); 0 disables staleness weighting. */
  stalenessExponent: z.number().min(0).max(10).default(0.5),
  /** Updates more than this many versions old are refused (STALE_ROUND). */
  maxStaleness: z.number().int().min(0).default(100),
  /** Per-update base weight: 1 (paper) or numExamples. */
  weighting: z.enum(['uniform', 'examples']).default('uniform'),
});
export type FedBuffOptions = z.infer<typeof FedBuffOptionsSchema>;
export type FedBuffState = Record<string, never>;

/**
 * The staleness weight s(τ) = (1 + τ)^(−a) (Nguyen et al. 2022, §3; a = 0.5 gives 1/√(1+τ)).
 * @example
 * ```ts
 * stalenessWeight(3, 0.5); // 0.5
 * ```
 */
export function stalenessWeight(staleness: number, exponent: number): number {
  return Math.pow(1 + staleness, -exponent);
}

/**
 * The FedBuff strategy object (registered as `fedbuff`).
 * @example
 * ```ts
 * const { bufferSize } = fedbuff.asyncConfig!(options); // step every bufferSize updates
 * ```
 */
export const fedbuff: Strategy<FedBuffOptions, FedBuffState> = {
  name: 'fedbuff',
  description: 'FedBuff: asynchronous, server steps every K updates, stale updates weighted 1/sqrt(1+s) (Nguyen et al. 2022)',
  optionsSchema: FedBuffOptionsSchema,
  mode: 'async',
  asyncConfig: (o) => ({ bufferSize: o.bufferSize, maxStaleness: o.maxStaleness }),
  initState: () => ({}),
  configureFit: () => ({}),
  createPartial: (_o, ctx) => createSumPartial(ctx),
  async foldUpdate(o, partial, update, tools, ctx) {
    const s = update.staleness;
    if (!Number.isInteger(s) || s < 0) throw fedError('BAD_MESSAGE', `staleness ${s} is not a non-negative integer`);
    if (s > o.maxStaleness) {
      throw fedError('STALE_ROUND', `update is ${s} model versions old (maxStaleness ${o.maxStaleness}); train on the current model`);
    }
    const base = o.weighting === 'uniform' ? 1 : exampleWeight(update);
    const sw = stalenessWeight(s, o.stalenessExponent);
    // Fold with s(τ)·w_i but count only w_i in the partial's weight (the paper divides by K, not Σ s(τ)).
    await foldWeighted(partial, update, tools, ctx, base * sw, base);
    partial.scalars.stalenessSum = (partial.scalars.stalenessSum ?? 0) + s;
  },
  mergePartials: (_o, a, b, ctx) => mergeSums(a, b, ctx),
  serverStep(o, state, global, merged, ctx) {
    const delta = meanDelta(merged, ctx);
    if (!delta) return null;
    const metrics: Record<string, number> = { updates: merged.count, weight: merged.weight };
    if (merged.count > 0) metrics.meanStaleness = (merged.scalars.stalenessSum ?? 0) / merged.count;
    return { model: stepFrom(global, o.serverLearningRate, delta), state, metrics };
  },
  encodeState: () => ({ json: {}, tensors: {} }),
  decodeState: () => ({}),
};
