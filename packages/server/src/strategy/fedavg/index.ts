/**
 * FedAvg (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized Data",
 * Algorithm 1): the new global model is the example-weighted mean of the clients' models,
 *
 *   x_{t+1} = x_t + Σ_i n_i Δ_i / Σ_i n_i,   Δ_i = x_i − x_t,  n_i = numExamples of client i.
 *
 * Weighting by `numExamples` is what makes this FedAvg and not a plain average (a client reporting more
 * examples pulls harder; the controller may cap `numExamples` when clients are not trusted).
 */
import { z } from 'zod';
import { stepFrom } from '../common.js';
import type { Strategy } from '../types.js';
import { createSumPartial, foldWeighted, meanDelta, mergeSums } from '../weighted-sum.js';

export const FedAvgOptionsSchema = z.strictObject({});
export type FedAvgOptions = z.infer<typeof FedAvgOptionsSchema>;
/** FedAvg keeps no state between rounds. */
export type FedAvgState = Record<string, never>;

/**
 * The FedAvg strategy object (registered as `fedavg`).
 * @example
 * ```ts
 * const next = fedavg.serverStep({}, {}, global, merged, ctx)?.model;
 * ```
 */
export const fedavg: Strategy<FedAvgOptions, FedAvgState> = {
  name: 'fedavg',
  description: 'FedAvg: example-weighted mean of client deltas (McMahan et al. 2017)',
  optionsSchema: FedAvgOptionsSchema,
  mode: 'sync',
  initState: () => ({}),
  configureFit: () => ({}),
  createPartial: (_o, ctx) => createSumPartial(ctx),
  foldUpdate: (_o, partial, update, tools, ctx) => foldWeighted(partial, update, tools, ctx),
  mergePartials: (_o, a, b, ctx) => mergeSums(a, b, ctx),
  serverStep(_o, state, global, merged, ctx) {
    const delta = meanDelta(merged, ctx);
    if (!delta) return null;
    return { model: stepFrom(global, 1, delta), state, metrics: { updates: merged.count, weight: merged.weight } };
  },
  encodeState: () => ({ json: {}, tensors: {} }),
  decodeState: () => ({}),
};
