/**
 * FedAvgM (Hsu, Qi & Brown 2019, "Measuring the Effects of Non-Identical Data Distribution for Federated Visual
 * Classification"): FedAvg with server momentum. The mean client delta Δ = Σ n_i Δ_i / Σ n_i is a pseudo-gradient
 * −Δ for the server optimizer (`server-optimizer.ts`), by default momentum β = 0.9 with server rate η = 1:
 * m ← β m + Δ, x ← x + η m. With `optimizer: 'sgd'`, η = 1 it is FedAvg; `lrDecay` gives a server-rate schedule.
 */
import type { z } from 'zod';
import type { Strategy } from '../types.js';
import { optimizerStrategy, ServerOptimizerSchema, type ServerOptimizerState } from '../server-optimizer.js';

export const FedAvgMOptionsSchema = ServerOptimizerSchema.extend({
  optimizer: ServerOptimizerSchema.shape.optimizer.unwrap().default('momentum'),
  lr: ServerOptimizerSchema.shape.lr.unwrap().default(1),
});
export type FedAvgMOptions = z.infer<typeof FedAvgMOptionsSchema>;

/**
 * The FedAvgM strategy (registered as `fedavgm`).
 * @example
 * ```ts
 * const { strategy, options } = resolveStrategy({ name: 'fedavgm', options: { momentum: 0.9, lr: 1 } });
 * ```
 */
export const fedavgm: Strategy<FedAvgMOptions, ServerOptimizerState> = optimizerStrategy({
  name: 'fedavgm',
  description: 'FedAvgM: FedAvg with server momentum (Hsu et al. 2019); optional server-rate schedule',
  optionsSchema: FedAvgMOptionsSchema,
  configureFit: () => ({}),
  sign: -1,
});
