/**
 * Shared building blocks for the built-in strategies: flat Float32Array maths (plain loops, no tfjs on the
 * server) and the checks every phase applies to partials that may have crossed a process boundary.
 */
import { fedError } from '@fedweb/codec';
import type { z } from 'zod';
import type { ClientUpdate, PartialAggregate, Strategy, StrategyContext } from './types.js';

/**
 * A partial with zero-filled flat tensors of `paramCount` floats under each key.
 * @example
 * ```ts
 * const p = emptyPartial(ctx, ['sum']); // { count: 0, weight: 0, tensors: { sum: Float32Array(P) }, scalars: {} }
 * ```
 */
export function emptyPartial(ctx: StrategyContext, keys: readonly string[], scalars: Record<string, number> = {}): PartialAggregate {
  const tensors: Record<string, Float32Array> = {};
  for (const k of keys) tensors[k] = new Float32Array(ctx.paramCount);
  return { count: 0, weight: 0, tensors, scalars: { ...scalars } };
}

/**
 * Throws SHAPE_MISMATCH unless `partial.tensors[key]` exists with `ctx.paramCount` floats for every key.
 * Partials decoded from another process go through here before any arithmetic.
 * @example
 * ```ts
 * const sum = requireTensor(partial, 'sum', ctx);
 * ```
 */
export function requireTensor(partial: PartialAggregate, key: string, ctx: StrategyContext): Float32Array {
  const t = partial.tensors[key];
  if (!(t instanceof Float32Array)) throw fedError('SHAPE_MISMATCH', `partial aggregate lacks tensor '${key}'`);
  if (t.length !== ctx.paramCount) {
    throw fedError('SHAPE_MISMATCH', `partial tensor '${key}' has ${t.length} floats, the model has ${ctx.paramCount}`);
  }
  return t;
}

/**
 * Checks the scalar bookkeeping of a partial (count, weight) before it is merged or stepped.
 * @example
 * ```ts
 * checkCounts(partial);
 * ```
 */
export function checkCounts(p: PartialAggregate): void {
  if (!Number.isInteger(p.count) || p.count < 0) throw fedError('BAD_FRAME', `partial count ${p.count} is not a non-negative integer`);
  if (!Number.isFinite(p.weight) || p.weight < 0) throw fedError('BAD_FRAME', `partial weight ${p.weight} is not a finite non-negative number`);
}

/**
 * The weight of one update by `numExamples` (McMahan et al. 2017): must be a finite non-negative number.
 * @example
 * ```ts
 * const w = exampleWeight(update); // 600
 * ```
 */
export function exampleWeight(update: ClientUpdate): number {
  const n = update.numExamples;
  if (!Number.isFinite(n) || n < 0) throw fedError('BAD_MESSAGE', `numExamples ${n} is not a finite non-negative number`);
  return n;
}

/**
 * Element-wise `a + b` into a new array (associative merge of sums).
 * @example
 * ```ts
 * addArrays(new Float32Array([1, 2]), new Float32Array([3, 4])); // [4, 6]
 * ```
 */
export function addArrays(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length !== b.length) throw fedError('SHAPE_MISMATCH', `cannot add arrays of ${a.length} and ${b.length} floats`);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/**
 * `acc += scale * x`, in place.
 * @example
 * ```ts
 * axpy(acc, 0.5, delta);
 * ```
 */
export function axpy(acc: Float32Array, scale: number, x: Float32Array): void {
  if (acc.length !== x.length) throw fedError('SHAPE_MISMATCH', `cannot fold ${x.length} floats into ${acc.length}`);
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + scale * x[i]!;
}

/**
 * L2 norm, accumulated in float64 so that 1M-parameter updates do not lose precision.
 * @example
 * ```ts
 * l2Norm(new Float32Array([3, 4])); // 5
 * ```
 */
export function l2Norm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

/**
 * `global + scale * x` into a new array (the usual server step).
 * @example
 * ```ts
 * const next = stepFrom(global, 1 / weight, sum); // FedAvg
 * ```
 */
export function stepFrom(global: Float32Array, scale: number, x: Float32Array): Float32Array {
  if (global.length !== x.length) throw fedError('SHAPE_MISMATCH', `aggregate has ${x.length} floats, the model has ${global.length}`);
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i]! + scale * x[i]!;
  return out;
}

/**
 * Copies a Float32Array out of a state tensor map, checking that it exists and (optionally) its length.
 * @example
 * ```ts
 * const m = stateTensor(tensors, 'm');
 * ```
 */
export function stateTensor(tensors: Record<string, Float32Array>, key: string, length?: number): Float32Array {
  const t = tensors[key];
  if (!(t instanceof Float32Array)) throw fedError('BAD_CONFIG', `strategy state lacks tensor '${key}'`);
  if (length !== undefined && t.length !== length) throw fedError('BAD_CONFIG', `strategy state tensor '${key}' has ${t.length} floats, expected ${length}`);
  return new Float32Array(t);
}

/**
 * The members every stateless synchronous strategy shares (name, options, `mode: 'sync'`, an empty state that
 * persists as nothing); the strategy adds its fold and server step.
 * @example
 * ```ts
 * const s: Strategy<O, Record<string, never>> = { ...statelessSync({ name: 'x', description: 'x', optionsSchema }), configureFit: () => ({}), ... };
 * ```
 */
export function statelessSync<O>(spec: { name: string; description: string; optionsSchema: z.ZodType<O> }): Pick<
  Strategy<O, Record<string, never>>,
  'name' | 'description' | 'optionsSchema' | 'mode' | 'initState' | 'encodeState' | 'decodeState'
> {
  return {
    name: spec.name,
    description: spec.description,
    optionsSchema: spec.optionsSchema,
    mode: 'sync',
    initState: () => ({}),
    encodeState: () => ({ json: {}, tensors: {} }),
    decodeState: () => ({}),
  };
}
