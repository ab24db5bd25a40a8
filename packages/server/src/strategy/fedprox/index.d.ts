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
export declare const FedProxOptionsSchema: z.ZodObject<{
    mu: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>;
export type FedProxOptions = z.infer<typeof FedProxOptionsSchema>;
export type FedProxState = Record<string, never>;
/**
 * The FedProx strategy object (registered as `fedprox`).
 * @example
 * ```ts
 * fedprox.configureFit({ mu: 0.1 }, {}, ctx); // { mu: 0.1 } -> settings.strategy.mu on every client
 * ```
 */
export declare const fedprox: Strategy<FedProxOptions, FedProxState>;
