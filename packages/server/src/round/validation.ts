/**
 * Step 6 of a round: the new model is sent to the round's clients as validation tasks (`validate.start` to each
 * combiner of the round), and their example-weighted metric sums are averaged into the round's validation metrics.
 */
import type { Metrics, MessageOf } from '@fedweb/codec';
import { packageRef } from '../controller/packages.js';
import type { ControllerDeps } from '../controller/runtime.js';
import { modelRef } from '../controller/trail.js';
import type { CombinerHandle } from '../discovery/registry.js';
import { MetricMeans } from '../reducer/metrics.js';
import type { PackageRecord, SessionRecord } from '../store/types.js';

/**
 * Runs validation of `model` on the clients of each combiner, until `validateTimeoutMs` (+ grace) or `signal`.
 * Combiners that fail or time out are left out; `clients` and `examples` count who answered.
 * @example
 * ```ts
 * const val = await runValidation(deps, s, roundId, { id, sha256, bytes }, pkg, [...perCombiner], signal); // { accuracy: 0.91, clients: 3, examples: 120 }
 * ```
 */
export async function runValidation(
  deps: Pick<ControllerDeps, 'registry' | 'timing'>,
  s: SessionRecord,
  roundId: string,
  model: { id: string; sha256: string; bytes: number },
  pkg: PackageRecord,
  participants: Array<[CombinerHandle, string[]]>,
  signal: AbortSignal,
): Promise<Metrics> {
  const deadline = Date.now() + s.config.validateTimeoutMs;
  const outcomes = await Promise.all(
    participants.map(([h, ids]) =>
      deps.registry.request<MessageOf<'validate.partial'>>(
        'validation',
        h,
        roundId,
        { v: 2, kind: 'validate.start', sessionId: s.id, roundId, model: modelRef(model), package: packageRef(pkg), clientIds: ids, deadline },
        deadline - Date.now() + deps.timing.partialGraceMs,
        signal,
      ),
    ),
  );
  const means = new MetricMeans();
  let examples = 0;
  let count = 0;
  for (const o of outcomes) {
    if (!o.ok) continue;
    examples += o.value.numExamples;
    count += o.value.count;
    means.addSums(o.value.metricSums, o.value.numExamples);
  }
  const out: Metrics = examples > 0 ? means.means() : {};
  if (count > 0) {
    out.clients = count;
    out.examples = examples;
  }
  return out;
}
