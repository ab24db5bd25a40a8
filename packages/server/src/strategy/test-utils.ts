/**
 * Small helpers for the strategies' own unit tests: a one-tensor layout and real codec frames for given
 * deltas, so hand-computed tests go through the same fold path as production.
 */
import { encodeFrame } from '@fedweb/codec';
import type { NamedTensor } from '@fedweb/codec';
import { createFoldTools } from './fold-tools.js';
import type { ClientUpdate, FoldTools, PartialAggregate, Strategy, StrategyContext } from './types.js';

/**
 * A context for a model made of one 1-D tensor `w0` of `n` floats.
 * @example
 * ```ts
 * const ctx = vectorContext(2);
 * ```
 */
export function vectorContext(n: number, round = 1, seed = 1): StrategyContext {
  return { sessionId: 'unit', round, layout: [{ name: 'w0', shape: [n] }], paramCount: n, seed };
}

/**
 * A client update whose frame holds `w0 = delta` (+ optional extra tensors), f32-encoded.
 * @example
 * ```ts
 * const u = await vectorUpdate([1, 2], 3); // numExamples 3
 * ```
 */
export async function vectorUpdate(delta: number[], numExamples = 1, staleness = 0, extra: NamedTensor[] = []): Promise<ClientUpdate> {
  const frame = await encodeFrame([{ name: 'w0', shape: [delta.length], data: Float32Array.from(delta) }, ...extra]);
  return { clientId: `c${Math.abs(delta[0] ?? 0)}`, frame, numExamples, staleness };
}

/**
 * Folds the updates into one fresh partial.
 * @example
 * ```ts
 * const merged = await foldVectors(fedavg, {}, ctx, [await vectorUpdate([1, 2])]);
 * ```
 */
export async function foldVectors<O, S>(strategy: Strategy<O, S>, options: O, ctx: StrategyContext, updates: ClientUpdate[]): Promise<PartialAggregate> {
  const tools: FoldTools = createFoldTools({ layout: ctx.layout });
  const p = strategy.createPartial(options, ctx);
  for (const u of updates) await strategy.foldUpdate(options, p, u, tools, ctx);
  return p;
}
