import type { ClientUpdate, FoldTools, PartialAggregate, StrategyContext } from './types.js';
/**
 * An empty weighted-sum partial.
 * @example
 * ```ts
 * const p = createSumPartial(ctx); // { count: 0, weight: 0, tensors: { sum }, scalars: {} }
 * ```
 */
export declare function createSumPartial(ctx: StrategyContext): PartialAggregate;
/**
 * Folds one update with weight `numExamples` (or `weight` when given): `sum += w Δ`, `weight += w`
 * (`countWeight`, default `weight`, is what is added to the partial's weight, for FedBuff's staleness).
 * The codec validates the whole frame before touching `sum`, so a bad update leaves the partial intact.
 * @example
 * ```ts
 * await foldWeighted(partial, update, tools, ctx);
 * ```
 */
export declare function foldWeighted(partial: PartialAggregate, update: ClientUpdate, tools: FoldTools, ctx: StrategyContext, weight?: number, countWeight?: number): Promise<void>;
/**
 * Associative merge: sums and weights add; scalars add key by key (strategies override where they differ).
 * @example
 * ```ts
 * const merged = mergeSums(a, b, ctx);
 * ```
 */
export declare function mergeSums(a: PartialAggregate, b: PartialAggregate, ctx: StrategyContext, keys?: readonly string[]): PartialAggregate;
/**
 * The example-weighted mean delta `Σ n_i Δ_i / Σ n_i`, or `null` when no weight arrived.
 * @example
 * ```ts
 * const delta = meanDelta(merged, ctx); // null -> keep the previous global model
 * ```
 */
export declare function meanDelta(merged: PartialAggregate, ctx: StrategyContext, key?: string): Float32Array | null;
