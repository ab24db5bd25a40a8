import type { ClientUpdate, PartialAggregate, StrategyContext } from './types.js';
/**
 * A partial with zero-filled flat tensors of `paramCount` floats under each key.
 * @example
 * ```ts
 * const p = emptyPartial(ctx, ['sum']); // { count: 0, weight: 0, tensors: { sum: Float32Array(P) }, scalars: {} }
 * ```
 */
export declare function emptyPartial(ctx: StrategyContext, keys: readonly string[], scalars?: Record<string, number>): PartialAggregate;
/**
 * Throws SHAPE_MISMATCH unless `partial.tensors[key]` exists with `ctx.paramCount` floats for every key.
 * Partials decoded from another process go through here before any arithmetic.
 * @example
 * ```ts
 * const sum = requireTensor(partial, 'sum', ctx);
 * ```
 */
export declare function requireTensor(partial: PartialAggregate, key: string, ctx: StrategyContext): Float32Array;
/**
 * Checks the scalar bookkeeping of a partial (count, weight) before it is merged or stepped.
 * @example
 * ```ts
 * checkCounts(partial);
 * ```
 */
export declare function checkCounts(p: PartialAggregate): void;
/**
 * The weight of one update by `numExamples` (McMahan et al. 2017): must be a finite non-negative number.
 * @example
 * ```ts
 * const w = exampleWeight(update); // 600
 * ```
 */
export declare function exampleWeight(update: ClientUpdate): number;
/**
 * Element-wise `a + b` into a new array (associative merge of sums).
 * @example
 * ```ts
 * addArrays(new Float32Array([1, 2]), new Float32Array([3, 4])); // [4, 6]
 * ```
 */
export declare function addArrays(a: Float32Array, b: Float32Array): Float32Array;
/**
 * `acc += scale * x`, in place.
 * @example
 * ```ts
 * axpy(acc, 0.5, delta);
 * ```
 */
export declare function axpy(acc: Float32Array, scale: number, x: Float32Array): void;
/**
 * L2 norm, accumulated in float64 so that 1M-parameter updates do not lose precision.
 * @example
 * ```ts
 * l2Norm(new Float32Array([3, 4])); // 5
 * ```
 */
export declare function l2Norm(x: Float32Array): number;
/**
 * `global + scale * x` into a new array (the usual server step).
 * @example
 * ```ts
 * const next = stepFrom(global, 1 / weight, sum); // FedAvg
 * ```
 */
export declare function stepFrom(global: Float32Array, scale: number, x: Float32Array): Float32Array;
/**
 * Copies a Float32Array out of a state tensor map, checking that it exists and (optionally) its length.
 * @example
 * ```ts
 * const m = stateTensor(tensors, 'm');
 * ```
 */
export declare function stateTensor(tensors: Record<string, Float32Array>, key: string, length?: number): Float32Array;
