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
import type { Strategy } from '../types.js';
import { weightedMeanStrategy } from '../weighted-sum.js';

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
export const fedavg: Strategy<FedAvgOptions, FedAvgState> = weightedMeanStrategy({
  name: 'fedavg',
  description: 'FedAvg: example-weighted mean of client deltas (McMahan et al. 2017)',
  optionsSchema: FedAvgOptionsSchema,
  configureFit: () => ({}),
});
