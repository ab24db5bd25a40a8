/**
 * Norm clipping (Sun et al. 2019, "Can You Really Backdoor Federated Learning?", norm-bounding defence):
 * every client delta is scaled down to an L2 norm of at most M before the example-weighted average,
 *
 *   x_{t+1} = x_t + Σ n_i · min(1, M / ‖Δ_i‖) Δ_i / Σ n_i,
 *
 * so one client sending a huge update moves the model by at most M · n_i / Σ n.
 *
 * Two ways to choose M:
 *  - `maxNorm: number` — a fixed bound (the paper's setting). Streaming: memory is one model-size sum per
 *    combiner, like FedAvg.
 *  - `maxNorm` absent (default) — M = `medianMultiplier` × the median of this round's update norms, which
 *    needs no tuning to the model's scale and ignores a minority of huge norms. This needs every update
 *    before the first can be clipped, so updates are buffered: memory = updates × params × 4 bytes,
 *    bounded by `maxBufferBytes` (see `../buffered.ts`).
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { checkCounts, emptyPartial, exampleWeight, l2Norm, requireTensor, stepFrom } from '../common.js';
import { buffered, bufferCapacity, createBufferPartial, foldBuffered, maxBufferBytesOption, mergeBuffers } from '../buffered.js';
import { flattenLayout } from '../fold-tools.js';
import type { PartialAggregate, Strategy, StrategyContext } from '../types.js';
import { mergeSums } from '../weighted-sum.js';

export const NormClipOptionsSchema = z.strictObject({
  /** Fixed L2 bound M per update (streaming). Absent: M = medianMultiplier × median norm (buffered). */
  maxNorm: z.number().positive().finite().optional(),
  /** Multiplier of the round's median update norm when `maxNorm` is absent. */
  medianMultiplier: z.number().positive().finite().default(1),
  /** Bound on the buffered updates (median-norm mode), bytes. */
  maxBufferBytes: maxBufferBytesOption,
});
export type NormClipOptions = z.infer<typeof NormClipOptionsSchema>;
export type NormClipState = Record<string, never>;

/**
 * Scales `delta` in place to L2 norm at most `bound`; returns its norm before clipping.
 * @example
 * ```ts
 * clipInPlace(new Float32Array([3, 4]), 1); // returns 5, array becomes [0.6, 0.8]
 * ```
 */
export function clipInPlace(delta: Float32Array, bound: number): number {
  const norm = l2Norm(delta);
  if (norm > bound) {
    const s = bound / norm;
    for (let i = 0; i < delta.length; i++) delta[i] = delta[i]! * s;
  }
  return norm;
}

function fixedStep(global: Float32Array, merged: PartialAggregate, ctx: StrategyContext, bound: number) {
  checkCounts(merged);
  const sum = requireTensor(merged, 'sum', ctx);
  if (merged.weight <= 0) return null;
  const metrics = { updates: merged.count, clipped: merged.scalars.clipped ?? 0, clipNorm: bound };
  return { model: stepFrom(global, 1 / merged.weight, sum), metrics };
}

/**
 * The norm-clipping strategy (registered as `normclip`).
 * @example
 * ```ts
 * parseStrategyOptions('normclip', { maxNorm: 5 }); // fixed bound, streaming
 * ```
 */
export const normclip: Strategy<NormClipOptions, NormClipState> = {
  name: 'normclip',
  description: 'Norm clipping: each update scaled to L2 norm <= M (fixed, or the round median) before FedAvg (Sun et al. 2019)',
  optionsSchema: NormClipOptionsSchema,
  mode: 'sync',
  maxUpdates: (o, ctx) => (o.maxNorm === undefined ? bufferCapacity(o.maxBufferBytes, ctx.paramCount) : Number.MAX_SAFE_INTEGER),
  initState: () => ({}),
  configureFit: () => ({}),
  createPartial: (o, ctx) => (o.maxNorm === undefined ? createBufferPartial() : emptyPartial(ctx, ['sum'], { clipped: 0 })),
  async foldUpdate(o, partial, update, tools, ctx) {
    if (o.maxNorm === undefined) return foldBuffered('normclip', partial, update, tools, ctx, o.maxBufferBytes);
    const sum = requireTensor(partial, 'sum', ctx);
    const n = exampleWeight(update);
    const delta = flattenLayout(await tools.decode(update.frame), ctx.layout, ctx.paramCount);
    const norm = clipInPlace(delta, o.maxNorm);
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + n * delta[i]!;
    partial.count += 1;
    partial.weight += n;
    if (norm > o.maxNorm) partial.scalars.clipped = (partial.scalars.clipped ?? 0) + 1;
  },
  mergePartials: (o, a, b, ctx) => (o.maxNorm === undefined ? mergeBuffers('normclip', a, b, ctx, o.maxBufferBytes) : mergeSums(a, b, ctx)),
  serverStep(o, state, global, merged, ctx) {
    if (o.maxNorm !== undefined) {
      const r = fixedStep(global, merged, ctx, o.maxNorm);
      return r && { ...r, state };
    }
    const { updates, weights } = buffered(merged, ctx);
    const total = weights.reduce((a, b) => a + b, 0);
    if (updates.length === 0 || total <= 0) return null;
    const norms = updates.map(l2Norm);
    // Norms in float64: the median is taken on exact values, not float32-rounded ones.
    const sorted = [...norms].sort((a, b) => a - b);
    const h = sorted.length >> 1;
    const med = sorted.length % 2 === 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
    const bound = o.medianMultiplier * med;
    if (!Number.isFinite(bound)) throw fedError('NON_FINITE', 'update norms are not finite');
    const sum = new Float32Array(ctx.paramCount);
    let clipped = 0;
    updates.forEach((u, j) => {
      const norm = norms[j]!;
      const s = norm > bound ? bound / norm : 1;
      if (norm > bound) clipped++;
      const w = weights[j]! * s;
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + w * u[i]!;
    });
    return { model: stepFrom(global, 1 / total, sum), state, metrics: { updates: updates.length, clipped, clipNorm: bound } };
  },
  encodeState: () => ({ json: {}, tensors: {} }),
  decodeState: () => ({}),
};

