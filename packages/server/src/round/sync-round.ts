/**
 * One synchronous round, after FEDn's round (https://docs.scaleoutsystems.com/en/stable/architecture.html):
 *  1. ask every combiner which clients can take part (`round.prepare` -> `round.ready`) and sample
 *     `clientsPerRound` of them (membership.ts);
 *  2. start the deadline and send `round.start` (model and package refs, settings, selected clients, quota);
 *  3. wait for every participant's partial (or its failure, or the deadline plus a grace period);
 *  4. check the validity policy (reducer);
 *  5. reduce: merge the partials (example-weighted, associative) and apply the strategy's server step;
 *  6. optionally send validation tasks and average their metrics (validation.ts);
 *  7. commit to the trail (controller/trail.ts): blob first, then one transaction. The download stream's next
 *     delta (controller/download-stream.ts) is encoded beside steps 6 and 7 and adopted once the commit is in;
 *     every combiner then gets `model.ready` and its clients prefetch the next round's model.
 * A stop (the session's abort signal) ends the round as `aborted` at any step before the commit.
 */
import { fedError, type Metrics } from '@fedweb/codec';
import type { ControllerDeps, SessionRuntime } from '../controller/runtime.js';
import { nonce, roundContext, strategySettings } from '../controller/session-state.js';
import { advanceStream, announceModel, streamFor } from '../controller/download-stream.js';
import { commitStep, finishRound, storeStep, trailModelId } from '../controller/trail.js';
import type { ReceivedPartial } from '../discovery/combiner-waits.js';
import type { CombinerHandle } from '../discovery/registry.js';
import { decodePartials, lastUpdateOf, mergeFinitePartials, trainMetricMeans, validityFailure } from '../reducer/reducer.js';
import type { PartialSummary, RoundRecord, SessionRecord } from '../store/types.js';
import { maxPartialFrameBytes } from '../strategy/partial-codec.js';
import type { Strategy } from '../strategy/types.js';
import { mergeUpdateStats } from '../reducer/update-stats.js';
import { prepareParticipants, sampleClients } from './membership.js';
import { roundStartMessage, trainingRecord } from './round-start.js';
import { previousUpdateStats, roundBounds } from './update-bounds.js';
import { runValidation } from './validation.js';

/**
 * Runs round `completedRounds + 1` of a sync session to its end: committed, failed (counted, model unchanged)
 * or aborted (stopped). Returns without a round when the session stops running while it waits for clients.
 * @example
 * ```ts
 * await runSyncRound(deps, rt, session);
 * ```
 */
export async function runSyncRound(deps: ControllerDeps, rt: SessionRuntime, s: SessionRecord): Promise<void> {
  const signal = rt.abort.signal;
  const config = s.config;
  const strategy = rt.strategy as Strategy<unknown, unknown>;
  const global = rt.global as NonNullable<SessionRuntime['global']>;
  const round = s.completedRounds + 1;
  const roundId = `${s.id}.r${round}.${nonce()}`;
  const ctx = roundContext(s.id, round, config, global.layout);
  const model = await deps.state.getModel(s.currentModelId);
  const pkg = await deps.state.getPackage(s.packageSha);
  if (!model || !pkg) throw fedError('STORAGE', `session ${s.id} lost its model or package`);
  rt.live = { roundId, round, phase: 'waiting', combiners: [], selected: 0, deadline: null };

  // 1. Which combiners can take part, and which of their clients train.
  const participants = await prepareParticipants(deps, s, roundId, signal, { round });
  if (!participants) return;
  const privacy = strategy.privacy?.(rt.options);
  const perCombiner = sampleClients(participants, config.clientsPerRound, ctx.seed, privacy?.samplingRate);
  const selected = [...perCombiner.values()].reduce((n, ids) => n + ids.length, 0);
  const cap = strategy.maxUpdates?.(rt.options, ctx);

  // 2. Deadline and round.start.
  const startedAt = Date.now();
  const deadline = startedAt + config.roundTimeoutMs;
  const record = trainingRecord(roundId, s.id, round, startedAt, deadline, [...perCombiner.keys()].map((h) => h.id));
  await deps.state.putRound(record);
  rt.live = { roundId, round, phase: 'training', combiners: record.combiners, selected, deadline };
  const settings = await strategySettings(deps, rt, strategy, ctx);
  rt.updateStats ??= await previousUpdateStats(deps.state, s.id);
  const bounds = roundBounds(config, global.flat, rt.updateStats, privacy !== undefined);
  const download = config.downloads === 'delta' ? await streamFor(deps, rt) : undefined;
  const start = roundStartMessage({ session: s, roundId, ctx, refs: { model, pkg }, strategy: { strategy, settings }, bounds, ...(download ? { download } : {}) });
  deps.log.info({ sessionId: s.id, roundId, round, combiners: record.combiners, selected }, 'round started');
  // 3. Partials.
  // When every partial must qualify (validity.minCombiners of them), a part that can no longer reach minClients
  // dooms the round: it closes at once (withdrawn or failed clients) rather than at the deadline.
  const minUpdates = config.validity.minCombiners >= perCombiner.size ? { minUpdates: config.minClients } : {};
  const outcomes = await Promise.all(
    [...perCombiner.entries()].map(([h, ids]) => {
      const quota = Math.max(1, cap !== undefined ? Math.min(cap, ids.length) : ids.length);
      return deps.registry
        .request<ReceivedPartial>('partial', h, roundId, { ...start, clientIds: ids, deadline, quota, ...minUpdates }, deadline - Date.now() + deps.timing.partialGraceMs, signal, maxPartialFrameBytes(ctx.paramCount, ids.length))
        .then((outcome) => ({ combinerId: h.id, outcome }));
    }),
  );
  const abort = async (): Promise<void> => {
    // A stop aborts without a reason; a rollback says so ('rolled back').
    const reason = typeof signal.reason === 'string' ? `session ${signal.reason}` : 'session stopped';
    for (const h of perCombiner.keys()) h.peer.send({ v: 2, kind: 'round.abort', roundId, reason });
    if (!deps.isClosed()) await finishRound(deps, rt, s, { ...record, status: 'aborted', reason }, false);
  };
  if (signal.aborted || deps.isClosed()) return abort();

  // 4. The validity policy.
  rt.live = { ...rt.live, phase: 'reducing' };
  const tPartials = Date.now();
  const { partials, failures } = await decodePartials(outcomes, ctx.paramCount);
  if (failures.length) deps.log.warn({ roundId, failures }, 'some combiners returned no partial');
  // The next round's bounds follow what this one saw, committed or not (a failed round must not freeze them). A DP
  // session neither uses nor records them: the medians of the clients' updates are not noised.
  const summaries: PartialSummary[] = partials.map(({ summary: { updateStats, ...rest } }) => (privacy || !updateStats ? rest : { ...rest, updateStats }));
  if (!privacy) rt.updateStats = mergeUpdateStats(summaries.map((p) => p.updateStats)) ?? rt.updateStats;
  const lastUpdateAt = lastUpdateOf(summaries);
  const timings: Record<string, number> = { partials: lastUpdateAt !== null ? Math.max(0, tPartials - lastUpdateAt) : 0, decode: Date.now() - tPartials };
  const progress: RoundRecord = {
    ...record,
    updates: partials.reduce((n, p) => n + p.partial.count, 0),
    weight: partials.reduce((n, p) => n + p.partial.weight, 0),
    lastUpdateAt,
    partials: summaries,
    trainMetrics: trainMetricMeans(partials.map((p) => ({ metrics: p.metrics, weight: p.partial.weight }))),
    timings,
  };
  const invalid = validityFailure(config, partials, failures);
  if (invalid) {
    deps.log.warn({ roundId, reason: invalid }, 'round failed the validity policy; the global model is unchanged');
    await finishRound(deps, rt, s, { ...progress, status: 'failed', reason: invalid.slice(0, 2000) }, true);
    return;
  }

  // 5. Reduce: merge partials (example-weighted), then the strategy's server step; the model blob is written.
  const t = Date.now();
  const { merged, dropped } = mergeFinitePartials(strategy, rt.options, partials, ctx);
  if (dropped.length) deps.log.warn({ roundId, dropped }, 'partials left out of the merge');
  const step = strategy.serverStep(rt.options, rt.state, global.flat, merged, ctx);
  if (!step) {
    await finishRound(deps, rt, s, { ...progress, status: 'failed', reason: 'the strategy kept the previous model' }, true);
    return;
  }
  timings.step = Date.now() - t;
  const modelId = trailModelId(s.id, round);
  // The next download (delta + full frame) is encoded while the step is stored, validated and committed; a
  // failure only costs the next round its delta (streamFor opens a new stream at the committed model).
  const advancing = download
    ? advanceStream(deps, download, { modelId, layout: global.layout, flat: step.model }).catch((e: unknown) => {
        deps.log.warn({ roundId, err: (e as Error).message }, 'encoding the next model download failed; clients get the full model');
        return undefined;
      })
    : undefined;
  const stored = await storeStep(deps, strategy, step, global.layout, timings);
  deps.pendingModels.set(modelId, { sha256: stored.blob.sha256, bytes: stored.blob.bytes });
  try {
    // 6. Validation.
    let validationMetrics: Metrics = {};
    if (config.validate) {
      if (signal.aborted || deps.isClosed()) return await abort();
      rt.live = { ...rt.live, phase: 'validating' };
      await deps.state.putRound({ ...progress, status: 'validating' });
      const tv = Date.now();
      const participating: Array<[CombinerHandle, string[]]> = [...perCombiner.entries()];
      validationMetrics = await runValidation(deps, s, roundId, { id: modelId, ...stored.blob }, pkg, participating, signal);
      timings.validate = Date.now() - tv;
    }

    // 7. Commit to the trail (one transaction), unless the session was stopped meanwhile.
    if (!(await commitStep(deps, rt, s, { progress, parentId: model.id, stored, layout: global.layout, validationMetrics }, signal))) return await abort();
    const next = await advancing;
    if (next) {
      rt.download = next;
      // Clients prefetch the next round's model now, not after its selection (README "Delta downloads").
      if (round < config.rounds) announceModel(deps, s.id, next);
    }
  } finally {
    deps.pendingModels.delete(modelId);
  }
  deps.log.info(
    { sessionId: s.id, roundId, round, modelId, updates: progress.updates, weight: progress.weight, overheadMs: lastUpdateAt !== null ? Date.now() - lastUpdateAt : null, timings },
    'round committed',
  );
}
