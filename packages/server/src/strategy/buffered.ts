/**
 * The buffered partial of the robust aggregators (coordinate-wise median, trimmed mean): unlike a running
 * sum, they need every update. Memory = updates × params × 4 bytes (10 updates of a 1M-parameter model:
 * 40 MB; 1,000 updates of a 25M-parameter model: 100 GB), so the buffer is bounded by `maxBufferBytes`
 * and refused beyond it with a clear error. `Strategy.maxUpdates` tells the controller the bound up front
 * so that it can cap the round's quota instead of hitting the error.
 *
 * Layout: `tensors.u0 … u{count−1}`, each one client's flat delta (layout order), and `scalars.n0 …` its
 * numExamples. Merging concatenates and renumbers; the reducers below are order-independent, so 1 or N
 * combiners give the same model.
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { checkCounts, exampleWeight, statelessSync, stepFrom } from './common.js';
import { flattenLayout } from './fold-tools.js';
import type { ClientUpdate, FoldTools, PartialAggregate, Strategy, StrategyContext } from './types.js';

/** Default bound on a buffer: 512 MiB (128 updates of a 1M-parameter model). */
export const DEFAULT_MAX_BUFFER_BYTES = 512 * 1024 * 1024;

/** The option every buffered strategy shares. */
export const maxBufferBytesOption = z.number().int().positive().max(2 ** 46).default(DEFAULT_MAX_BUFFER_BYTES);

/**
 * How many updates of this model fit in `maxBufferBytes` (at least 0).
 * @example
 * ```ts
 * bufferCapacity(512 * 2 ** 20, 1_000_000); // 134
 * ```
 */
export function bufferCapacity(maxBufferBytes: number, paramCount: number): number {
  return Math.floor(maxBufferBytes / (Math.max(1, paramCount) * 4));
}

function capacityError(strategy: string, count: number, ctx: StrategyContext, maxBufferBytes: number): Error {
  const need = count * ctx.paramCount * 4;
  return fedError(
    'BAD_CONFIG',
    `${strategy} buffers every update: ${count} updates × ${ctx.paramCount} params × 4 bytes = ${need} bytes exceeds ` +
      `maxBufferBytes ${maxBufferBytes} (room for ${bufferCapacity(maxBufferBytes, ctx.paramCount)}); lower the round quota or raise maxBufferBytes`,
    { count, paramCount: ctx.paramCount, maxBufferBytes },
  );
}

/**
 * An empty buffered partial.
 * @example
 * ```ts
 * const p = createBufferPartial(); // { count: 0, weight: 0, tensors: {}, scalars: {} }
 * ```
 */
export function createBufferPartial(): PartialAggregate {
  return { count: 0, weight: 0, tensors: {}, scalars: {} };
}

/**
 * Decodes one update (validated against the layout), checks the bound, and stores it as `u{count}`.
 * @example
 * ```ts
 * await foldBuffered('median', partial, update, tools, ctx, options.maxBufferBytes);
 * ```
 */
export async function foldBuffered(
  strategy: string,
  partial: PartialAggregate,
  update: ClientUpdate,
  tools: FoldTools,
  ctx: StrategyContext,
  maxBufferBytes: number,
): Promise<void> {
  const n = exampleWeight(update);
  if ((partial.count + 1) * ctx.paramCount * 4 > maxBufferBytes) throw capacityError(strategy, partial.count + 1, ctx, maxBufferBytes);
  const delta = flattenLayout(await tools.decode(update.frame), ctx.layout, ctx.paramCount);
  partial.tensors[`u${partial.count}`] = delta;
  partial.scalars[`n${partial.count}`] = n;
  partial.count += 1;
  partial.weight += n;
}

/**
 * The updates held by a buffered partial, checked (one per count, model-size each).
 * @example
 * ```ts
 * const updates = bufferedUpdates(merged, ctx);
 * ```
 */
export function bufferedUpdates(p: PartialAggregate, ctx: StrategyContext): Float32Array[] {
  return buffered(p, ctx).updates;
}

/**
 * The updates of a buffered partial with their numExamples weights.
 * @example
 * ```ts
 * const { updates, weights } = buffered(merged, ctx);
 * ```
 */
export function buffered(p: PartialAggregate, ctx: StrategyContext): { updates: Float32Array[]; weights: number[] } {
  checkCounts(p);
  const keys = Object.keys(p.tensors);
  if (keys.length !== p.count) throw fedError('SHAPE_MISMATCH', `buffered partial holds ${keys.length} updates but counts ${p.count}`);
  const out: Float32Array[] = [];
  const weights: number[] = [];
  for (let i = 0; i < p.count; i++) {
    const t = p.tensors[`u${i}`];
    if (!(t instanceof Float32Array)) throw fedError('SHAPE_MISMATCH', `buffered partial lacks update 'u${i}'`);
    if (t.length !== ctx.paramCount) throw fedError('SHAPE_MISMATCH', `buffered update 'u${i}' has ${t.length} floats, the model has ${ctx.paramCount}`);
    const w = p.scalars[`n${i}`];
    if (w === undefined || !Number.isFinite(w) || w < 0) throw fedError('BAD_FRAME', `buffered update 'u${i}' lacks a valid weight 'n${i}'`);
    out.push(t);
    weights.push(w);
  }
  return { updates: out, weights };
}

/**
 * Concatenates two buffered partials (renumbering `b`'s updates after `a`'s), within the bound.
 * @example
 * ```ts
 * const merged = mergeBuffers('median', a, b, ctx, options.maxBufferBytes);
 * ```
 */
export function mergeBuffers(strategy: string, a: PartialAggregate, b: PartialAggregate, ctx: StrategyContext, maxBufferBytes: number): PartialAggregate {
  const ba = buffered(a, ctx);
  const bb = buffered(b, ctx);
  const count = ba.updates.length + bb.updates.length;
  if (count * ctx.paramCount * 4 > maxBufferBytes) throw capacityError(strategy, count, ctx, maxBufferBytes);
  const tensors: Record<string, Float32Array> = {};
  const scalars: Record<string, number> = {};
  [...ba.updates, ...bb.updates].forEach((u, i) => (tensors[`u${i}`] = u));
  [...ba.weights, ...bb.weights].forEach((w, i) => (scalars[`n${i}`] = w));
  return { count, weight: a.weight + b.weight, tensors, scalars };
}

/**
 * Applies `reduce(sortedValues)` coordinate by coordinate over k updates: gathers the k values of each
 * coordinate into a scratch array, sorts it (insertion sort for small k) and reduces.
 * @example
 * ```ts
 * const med = coordinateWise(updates, (v) => v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2);
 * ```
 */
export function coordinateWise(updates: Float32Array[], reduce: (sorted: Float32Array) => number): Float32Array {
  const k = updates.length;
  const first = updates[0];
  if (!first) throw fedError('INTERNAL', 'coordinateWise needs at least one update');
  const n = first.length;
  const out = new Float32Array(n);
  const scratch = new Float32Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) scratch[j] = updates[j]![i]!;
    if (k <= 32) insertionSort(scratch);
    else scratch.sort();
    out[i] = reduce(scratch);
  }
  return out;
}

function insertionSort(a: Float32Array): void {
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/**
 * The stateless coordinate-wise strategy shared by the median and the trimmed mean (Yin et al. 2018,
 * "Byzantine-Robust Distributed Learning", Options I and II): every update buffered within
 * `maxBufferBytes`, and on the reducer `x_{t+1} = x_t + reduce(Δ_1 … Δ_k)` with `reduce` applied to each
 * coordinate's sorted values. `reduceFor(options, k)` picks the reducer for k updates and the metrics it reports.
 * @example
 * ```ts
 * const median = coordinateWiseStrategy({ name: 'median', description: 'median', optionsSchema, reduceFor: () => ({ reduce: medianOfSorted, metrics: {} }) });
 * ```
 */
export function coordinateWiseStrategy<O extends { maxBufferBytes: number }>(spec: {
  name: string;
  description: string;
  optionsSchema: z.ZodType<O>;
  reduceFor: (options: O, k: number) => { reduce: (sorted: Float32Array) => number; metrics: Record<string, number> };
}): Strategy<O, Record<string, never>> {
  return {
    ...statelessSync(spec),
    maxUpdates: (o, ctx) => bufferCapacity(o.maxBufferBytes, ctx.paramCount),
    configureFit: () => ({}),
    createPartial: () => createBufferPartial(),
    foldUpdate: (o, partial, update, tools, ctx) => foldBuffered(spec.name, partial, update, tools, ctx, o.maxBufferBytes),
    mergePartials: (o, a, b, ctx) => mergeBuffers(spec.name, a, b, ctx, o.maxBufferBytes),
    serverStep(o, state, global, merged, ctx) {
      const updates = bufferedUpdates(merged, ctx);
      const k = updates.length;
      if (k === 0) return null;
      const { reduce, metrics } = spec.reduceFor(o, k);
      return { model: stepFrom(global, 1, coordinateWise(updates, reduce)), state, metrics: { updates: k, ...metrics } };
    },
  };
}
