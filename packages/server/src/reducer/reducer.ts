/**
 * reducer/ owns the reduce: combiners' partials into one merged aggregate, the validity policy, metric means.
 *
 * Pure (no sockets, timers or stores): decodes the combiners' partials, merges them
 * (example-weighted, associative, so one combiner or many give the same model), applies the round validity
 * policy and averages the training metrics. As FEDn's reducer, it combines the combiners' partial models into
 * one global model (FEDn architecture overview, https://docs.scaleoutsystems.com/en/stable/architecture.html). The strategy's
 * server step (FedAvg's plain average, FedOpt's Adam/Yogi/Adagrad, Reddi et al. 2021) comes after the merge.
 */
import { toFedError, type Metrics } from '@fedweb/codec';
import type { SessionConfig } from '../config.js';
import type { Outcome, ReceivedPartial } from '../discovery/combiner-waits.js';
import type { PartialSummary } from '../store/types.js';
import { decodePartial } from '../strategy/index.js';
import type { PartialAggregate, Strategy, StrategyContext } from '../strategy/types.js';
import { MetricMeans } from './metrics.js';

/** One combiner's partial, decoded, with what the round record keeps of it. */
export interface DecodedPartial {
  partial: PartialAggregate;
  metrics: Metrics;
  summary: PartialSummary;
}

/**
 * Decodes one received partial (shape-checked against the model's `paramCount`).
 * @throws FedError when the frame does not decode to `paramCount` values.
 * @example
 * ```ts
 * const d = await decodeReceived('embedded', received, ctx.paramCount);
 * ```
 */
export async function decodeReceived(combinerId: string, received: ReceivedPartial, paramCount: number): Promise<DecodedPartial> {
  const meta = received.meta;
  const partial = await decodePartial({ frame: received.frame, count: meta.count, totalWeight: meta.totalWeight, scalars: meta.scalars }, { tensorLength: paramCount });
  return {
    partial,
    metrics: meta.metrics,
    summary: {
      combinerId,
      count: meta.count,
      weight: meta.totalWeight,
      refusedStale: meta.refusedStale,
      refused: meta.refused,
      ...(meta.firstUpdateAt !== undefined ? { firstUpdateAt: meta.firstUpdateAt } : {}),
      ...(meta.lastUpdateAt !== undefined ? { lastUpdateAt: meta.lastUpdateAt } : {}),
      receivedAt: received.receivedAt,
      ...(meta.updateStats ? { updateStats: meta.updateStats } : {}),
    },
  };
}

/**
 * Decodes every combiner's answer of a sync round: the partials that decode, and a line per combiner that
 * sent none (its failure) or one that does not decode.
 * @example
 * ```ts
 * const { partials, failures } = await decodePartials(outcomes.map(({ handle, o }) => ({ combinerId: handle.id, outcome: o })), ctx.paramCount);
 * ```
 */
export async function decodePartials(
  answers: Array<{ combinerId: string; outcome: Outcome<ReceivedPartial> }>,
  paramCount: number,
): Promise<{ partials: DecodedPartial[]; failures: string[] }> {
  const partials: DecodedPartial[] = [];
  const failures: string[] = [];
  for (const { combinerId, outcome } of answers) {
    if (!outcome.ok) {
      failures.push(`${combinerId}: ${outcome.error.message}`);
      continue;
    }
    try {
      partials.push(await decodeReceived(combinerId, outcome.value, paramCount));
    } catch (e) {
      failures.push(`${combinerId}: ${toFedError(e).message}`);
    }
  }
  return { partials, failures };
}

/**
 * Merges partials with the strategy's associative merge (left to right).
 * @example
 * ```ts
 * const merged = mergePartials(strategy, options, partials.map((p) => p.partial), ctx);
 * ```
 */
export function mergePartials(strategy: Strategy<unknown, unknown>, options: unknown, partials: PartialAggregate[], ctx: StrategyContext): PartialAggregate {
  const [first, ...rest] = partials;
  if (!first) throw new Error('mergePartials needs at least one partial');
  return rest.reduce((acc, p) => strategy.mergePartials(options, acc, p, ctx), first);
}

/**
 * Merges decoded partials left to right like {@link mergePartials}, but leaves out (and names) a partial whose
 * merge would give a non-finite value, so that one extreme partial cannot cost the round the others.
 * @example
 * ```ts
 * const { merged, dropped } = mergeFinitePartials(strategy, options, partials, ctx); // dropped: ['c2: ...']
 * ```
 */
export function mergeFinitePartials(
  strategy: Strategy<unknown, unknown>,
  options: unknown,
  partials: DecodedPartial[],
  ctx: StrategyContext,
): { merged: PartialAggregate; dropped: string[] } {
  const [first, ...rest] = partials;
  if (!first) throw new Error('mergeFinitePartials needs at least one partial');
  const dropped: string[] = [];
  let merged = first.partial;
  for (const p of rest) {
    const next = strategy.mergePartials(options, merged, p.partial, ctx);
    if (allFinite(next)) merged = next;
    else dropped.push(`${p.summary.combinerId}: merging its partial overflows float32`);
  }
  return { merged, dropped };
}

function allFinite(p: PartialAggregate): boolean {
  if (!Number.isFinite(p.weight)) return false;
  for (const t of Object.values(p.tensors)) for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i]!)) return false;
  return true;
}

/**
 * The round validity policy: why the round is invalid (enough combiners with `minClients` updates each, enough
 * updates in all, at least one), or null when it is valid.
 * @example
 * ```ts
 * const reason = validityFailure(config, partials, failures); // 'invalid round: 0 partial(s) with >= 1 update(s) (need 1), 0 update(s) in all'
 * ```
 */
export function validityFailure(config: SessionConfig, partials: DecodedPartial[], failures: string[]): string | null {
  const updates = partials.reduce((n, p) => n + p.partial.count, 0);
  const qualifying = partials.filter((p) => p.partial.count >= config.minClients).length;
  if (qualifying >= config.validity.minCombiners && updates >= config.validity.minTotalUpdates && updates > 0) return null;
  return `invalid round: ${qualifying} partial(s) with >= ${config.minClients} update(s) (need ${config.validity.minCombiners}), ${updates} update(s) in all${failures.length ? `; ${failures.join('; ')}` : ''}`;
}

/**
 * The example-weighted mean of the partials' training metrics (each partial carries its clients' means).
 * @example
 * ```ts
 * trainMetricMeans([{ metrics: { loss: 2 }, weight: 1 }, { metrics: { loss: 1 }, weight: 3 }]) // { loss: 1.25 }
 * ```
 */
export function trainMetricMeans(parts: Array<{ metrics: Metrics; weight: number }>): Metrics {
  const means = new MetricMeans();
  for (const p of parts) means.add(p.metrics, p.weight);
  return means.means();
}

/**
 * When the last counted update arrived at any combiner, or null when none says.
 * @example
 * ```ts
 * lastUpdateOf(partials.map((p) => p.summary)) // 1767312000000
 * ```
 */
export function lastUpdateOf(summaries: PartialSummary[]): number | null {
  return summaries.reduce<number | null>((t, p) => (p.lastUpdateAt !== undefined && (t === null || p.lastUpdateAt > t) ? p.lastUpdateAt : t), null);
}

/**
 * Adds one forwarded partial's summary to what a combiner sent before in the same async version.
 * @example
 * ```ts
 * summaries.set(id, addSummary(summaries.get(id), decoded.summary));
 * ```
 */
export function addSummary(prev: PartialSummary | undefined, next: PartialSummary): PartialSummary {
  if (!prev) return next;
  const first = Math.min(prev.firstUpdateAt ?? Infinity, next.firstUpdateAt ?? Infinity);
  const last = Math.max(prev.lastUpdateAt ?? 0, next.lastUpdateAt ?? 0);
  return {
    combinerId: next.combinerId,
    count: prev.count + next.count,
    weight: prev.weight + next.weight,
    refusedStale: prev.refusedStale + next.refusedStale,
    refused: prev.refused + next.refused,
    ...(prev.firstUpdateAt !== undefined || next.firstUpdateAt !== undefined ? { firstUpdateAt: first } : {}),
    ...(prev.lastUpdateAt !== undefined || next.lastUpdateAt !== undefined ? { lastUpdateAt: last } : {}),
    receivedAt: next.receivedAt,
  };
}
