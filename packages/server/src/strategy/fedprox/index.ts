/**
 * FedProx (Li et al. 2020, "Federated Optimization in Heterogeneous Networks", MLSys 2020, Algorithm 2).
 * Each client k approximately minimises the proximal objective
 *
 *   h_k(w; w_t) = F_k(w) + (μ/2) ‖w − w_t‖²
 *
 * instead of F_k alone, which keeps local models near the global one on heterogeneous data. The server side
 * is FedAvg (example-weighted mean of the deltas).
 *
 * Client contract: `configureFit` returns `{ mu }`, which the controller merges into the task as
 * `settings.strategy.mu`. The client SDK adds `μ (w − w_t)` to every gradient of its local steps (the
 * gradient of the proximal term), where `w_t` is the global model the round started from; with `mu = 0`
 * FedProx is FedAvg. `strategy/testing.ts#proximalGradient` is the reference implementation.
 */
import { z } from 'zod';
import type { Strategy } from '../types.js';
import { weightedMeanStrategy } from '../weighted-sum.js';

export const FedProxOptionsSchema = z.strictObject({
  /** Proximal coefficient μ ≥ 0 (the paper tunes μ in {0.001, 0.01, 0.1, 1}). */
  mu: z.number().min(0).finite().default(0.01),
});
export type FedProxOptions = z.infer<typeof FedProxOptionsSchema>;
export type FedProxState = Record<string, never>;

/**
 * The FedProx strategy object (registered as `fedprox`): FedAvg's server side, with μ sent to the clients.
 * @example
 * ```ts
 * fedprox.configureFit({ mu: 0.1 }, {}, ctx); // { mu: 0.1 } -> settings.strategy.mu on every client
 * ```
 */
export const fedprox: Strategy<FedProxOptions, FedProxState> = weightedMeanStrategy({
  name: 'fedprox',
  description: 'FedProx: FedAvg server, clients add a proximal term mu/2 |w - w_global|^2 (Li et al. 2020)',
  optionsSchema: FedProxOptionsSchema,
  configureFit: (o) => ({ mu: o.mu }),
});
