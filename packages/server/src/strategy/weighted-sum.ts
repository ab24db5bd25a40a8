/**
 * The streaming partial shared by the sum-based strategies (FedAvg, FedProx, FedAdam/Yogi/Adagrad):
 * `tensors.sum = Σ n_i Δ_i` and `weight = Σ n_i` (McMahan et al. 2017, "Communication-Efficient Learning of
 * Deep Networks from Decentralized Data", Algorithm 1). Memory is one model-size array per combiner,
 * whatever the number of clients; merging is element-wise addition, hence associative.
 */
import { fedError } from '@fedweb/codec';
import type { z } from 'zod';
import { addArrays, checkCounts, emptyPartial, exampleWeight, requireTensor, statelessSync, stepFrom } from './common.js';
import type { ClientUpdate, FoldTools, PartialAggregate, Strategy, StrategyContext } from './types.js';

/**
 * An empty weighted-sum partial.
 * @example
 * ```ts
 * const p = createSumPartial(ctx); // { count: 0, weight: 0, tensors: { sum }, scalars: {} }
 * ```
 */
export function createSumPartial(ctx: StrategyContext): PartialAggregate {
  return emptyPartial(ctx, ['sum']);
}

/**
 * Folds one update with weight `numExamples` (or `weight` when given): `sum += w Δ`, `weight += w`
 * (`countWeight`, default `weight`, is what is added to the partial's weight, for FedBuff's staleness).
 * The codec validates the whole frame before touching `sum`, so a bad update leaves the partial intact.
 * @example
 * ```ts
 * await foldWeighted(partial, update, tools, ctx);
 * ```
 */
export async function foldWeighted(
  partial: PartialAggregate,
  update: ClientUpdate,
  tools: FoldTools,
  ctx: StrategyContext,
  weight: number = exampleWeight(update),
  countWeight: number = weight,
): Promise<void> {
  const sum = requireTensor(partial, 'sum', ctx);
  if (!Number.isFinite(weight) || weight < 0) throw fedError('BAD_MESSAGE', `update weight ${weight} is not finite and non-negative`);
  await tools.foldInto(sum, update.frame, weight);
  partial.count += 1;
  partial.weight += countWeight;
}

/**
 * Associative merge: sums and weights add; scalars add key by key (strategies override where they differ).
 * @example
 * ```ts
 * const merged = mergeSums(a, b, ctx);
 * ```
 */
export function mergeSums(a: PartialAggregate, b: PartialAggregate, ctx: StrategyContext, keys: readonly string[] = ['sum']): PartialAggregate {
  checkCounts(a);
  checkCounts(b);
  const tensors: Record<string, Float32Array> = {};
  for (const k of keys) tensors[k] = addArrays(requireTensor(a, k, ctx), requireTensor(b, k, ctx));
  const scalars: Record<string, number> = { ...a.scalars };
  for (const [k, v] of Object.entries(b.scalars)) scalars[k] = (scalars[k] ?? 0) + v;
  return { count: a.count + b.count, weight: a.weight + b.weight, tensors, scalars };
}

/**
 * The example-weighted mean delta `Σ n_i Δ_i / Σ n_i`, or `null` when no weight arrived.
 * @example
 * ```ts
 * const delta = meanDelta(merged, ctx); // null -> keep the previous global model
 * ```
 */
export function meanDelta(merged: PartialAggregate, ctx: StrategyContext, key = 'sum'): Float32Array | null {
  checkCounts(merged);
  const sum = requireTensor(merged, key, ctx);
  if (merged.weight <= 0) return null;
  const inv = 1 / merged.weight;
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! * inv;
  return out;
}

/**
 * The combiner and reducer side of every weighted-sum strategy: an empty sum partial, the example-weighted fold,
 * the associative merge.
 * @example
 * ```ts
 * const fedopt: Strategy<O, S> = { ...sumAggregation(), name: 'fedadam', serverStep, ... };
 * ```
 */
export function sumAggregation(): Pick<Strategy<unknown, unknown>, 'createPartial' | 'foldUpdate' | 'mergePartials'> {
  return {
    createPartial: (_o, ctx) => createSumPartial(ctx),
    foldUpdate: (_o, partial, update, tools, ctx) => foldWeighted(partial, update, tools, ctx),
    mergePartials: (_o, a, b, ctx) => mergeSums(a, b, ctx),
  };
}

/**
 * The stateless weighted-mean strategy shared by FedAvg and FedProx: a running example-weighted sum on the
 * combiners and `x_{t+1} = x_t + Σ n_i Δ_i / Σ n_i` on the reducer (McMahan et al. 2017, Algorithm 1).
 * The two differ only in what the clients are told (`configureFit`): FedProx's μ (Li et al. 2020).
 * @example
 * ```ts
 * const fedavg = weightedMeanStrategy({ name: 'fedavg', description: 'FedAvg', optionsSchema: z.strictObject({}), configureFit: () => ({}) });
 * ```
 */
export function weightedMeanStrategy<O>(spec: {
  name: string;
  description: string;
  optionsSchema: z.ZodType<O>;
  configureFit: (options: O) => Record<string, unknown>;
}): Strategy<O, Record<string, never>> {
  return {
    ...statelessSync(spec),
    configureFit: (o) => spec.configureFit(o),
    ...sumAggregation(),
    serverStep(_o, state, global, merged, ctx) {
      const delta = meanDelta(merged, ctx);
      if (!delta) return null;
      return { model: stepFrom(global, 1, delta), state, metrics: { updates: merged.count, weight: merged.weight } };
    },
  };
}
