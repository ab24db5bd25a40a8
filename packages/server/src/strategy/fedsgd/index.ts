/**
 * FedSGD (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized Data", the
 * FedSGD baseline; FEDn's "AccumulateGradients"): clients do not train. Each computes the gradient of its loss at
 * the global model over its local data (`batches` mini-batches of the session's `batchSize`, or all of it; the
 * batch gradients summed or averaged, `reduce`) and sends it as its update, int8-encoded like any other. The
 * combiners fold the example-weighted sum (the same fold, codec and validity policy as FedAvg), and the reducer
 * applies the mean gradient g = Σ n_i g_i / Σ n_i with its optimizer (`server-optimizer.ts`: SGD, momentum, Adam).
 *
 * The clients learn what to do from `settings.strategy.fedsgd` (`@fedweb/codec`'s FedSgdSettingsSchema).
 */
import { z } from 'zod';
import type { FedSgdSettings } from '@fedweb/codec';
import type { Strategy } from '../types.js';
import { optimizerStrategy, ServerOptimizerSchema, type ServerOptimizerState } from '../server-optimizer.js';

export const FedSgdOptionsSchema = ServerOptimizerSchema.extend({
  /** Mini-batches per client per round (0 = all local examples as one batch). */
  batches: z.number().int().min(0).max(10_000).default(1).describe('mini-batches of the session batchSize per client per round (0 = all local examples)'),
  /** How a client combines its batch gradients: `mean` or `sum`. */
  reduce: z.enum(['mean', 'sum']).default('mean').describe('how a client combines its batch gradients: mean or sum'),
});
export type FedSgdOptions = z.infer<typeof FedSgdOptionsSchema>;
export type FedSgdState = ServerOptimizerState;

/**
 * The FedSGD strategy (registered as `fedsgd`).
 * @example
 * ```ts
 * const { strategy, options } = resolveStrategy({ name: 'fedsgd', options: { optimizer: 'adam', lr: 0.001, batches: 4 } });
 * ```
 */
export const fedsgd: Strategy<FedSgdOptions, FedSgdState> = optimizerStrategy({
  name: 'fedsgd',
  description: 'FedSGD: clients send gradients at the global model; the server applies their mean with SGD, momentum or Adam',
  optionsSchema: FedSgdOptionsSchema,
  configureFit: (o) => ({ fedsgd: { version: 1, batches: o.batches, reduce: o.reduce } satisfies FedSgdSettings }),
  sign: 1,
});
