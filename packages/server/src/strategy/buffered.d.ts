import { z } from 'zod';
import type { ClientUpdate, FoldTools, PartialAggregate, StrategyContext } from './types.js';
/** Default bound on a buffer: 512 MiB (128 updates of a 1M-parameter model). */
export declare const DEFAULT_MAX_BUFFER_BYTES: number;
/** The option every buffered strategy shares. */
export declare const maxBufferBytesOption: z.ZodDefault<z.ZodNumber>;
/**
 * How many updates of this model fit in `maxBufferBytes` (at least 0).
 * @example
 * ```ts
 * bufferCapacity(512 * 2 ** 20, 1_000_000); // 134
 * ```
 */
export declare function bufferCapacity(maxBufferBytes: number, paramCount: number): number;
/**
 * An empty buffered partial.
 * @example
 * ```ts
 * const p = createBufferPartial(); // { count: 0, weight: 0, tensors: {}, scalars: {} }
 * ```
 */
export declare function createBufferPartial(): PartialAggregate;
/**
 * Decodes one update (validated against the layout), checks the bound, and stores it as `u{count}`.
 * @example
 * ```ts
 * await foldBuffered('median', partial, update, tools, ctx, options.maxBufferBytes);
 * ```
 */
export declare function foldBuffered(strategy: string, partial: PartialAggregate, update: ClientUpdate, tools: FoldTools, ctx: StrategyContext, maxBufferBytes: number): Promise<void>;
/**
 * The updates held by a buffered partial, checked (one per count, model-size each).
 * @example
 * ```ts
 * const updates = bufferedUpdates(merged, ctx);
 * ```
 */
export declare function bufferedUpdates(p: PartialAggregate, ctx: StrategyContext): Float32Array[];
/**
 * The updates of a buffered partial with their numExamples weights.
 * @example
 * ```ts
 * const { updates, weights } = buffered(merged, ctx);
 * ```
 */
export declare function buffered(p: PartialAggregate, ctx: StrategyContext): {
    updates: Float32Array[];
    weights: number[];
};
/**
 * Concatenates two buffered partials (renumbering `b`'s updates after `a`'s), within the bound.
 * @example
 * ```ts
 * const merged = mergeBuffers('median', a, b, ctx, options.maxBufferBytes);
 * ```
 */
export declare function mergeBuffers(strategy: string, a: PartialAggregate, b: PartialAggregate, ctx: StrategyContext, maxBufferBytes: number): PartialAggregate;
/**
 * Applies `reduce(sortedValues)` coordinate by coordinate over k updates: gathers the k values of each
 * coordinate into a scratch array, sorts it (insertion sort for small k) and reduces.
 * @example
 * ```ts
 * const med = coordinateWise(updates, (v) => v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2);
 * ```
 */
export declare function coordinateWise(updates: Float32Array[], reduce: (sorted: Float32Array) => number): Float32Array;
