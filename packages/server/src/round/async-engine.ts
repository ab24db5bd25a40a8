/**
 * The engine of `mode: 'async'` strategies (FedBuff, Nguyen et al. 2022, "Federated Learning with Buffered
 * Asynchronous Aggregation", Algorithm 1): no round barrier. One stream per run of the session (`round.prepare`
 * + `round.start` with the stream id): every eligible client trains on the newest model version its combiner
 * knows; combiners forward each folded update at once (`round.partial` of the stream, folded with its
 * staleness); the controller merges them into a buffer and, every K = `bufferSize` updates, applies the
 * strategy's server step and commits version v+1 to the trail like a round (model row with its parent, round
 * row, session progress, in one transaction), then announces it (`round.start`, same stream id, `round` = v+2).
 * `rounds` counts versions. The stream ends (`round.abort`) when the session completes, is paused (after the
 * version in flight) or stopped.
 */
import { fedError, toFedError } from '@fedweb/codec';
import type { ControllerDeps, SessionRuntime } from '../controller/runtime.js';
import { nonce, roundContext, strategySettings } from '../controller/session-state.js';
import { commitStep, finishRound, storeStep, trailModelId } from '../controller/trail.js';
import type { Outcome, ReceivedPartial } from '../discovery/combiner-waits.js';
import type { CombinerHandle } from '../discovery/registry.js';
import { addSummary, decodeReceived, lastUpdateOf, trainMetricMeans } from '../reducer/reducer.js';
import type { PackageRecord, PartialSummary, RoundRecord, SessionRecord } from '../store/types.js';
import { maxPartialFrameBytes } from '../strategy/partial-codec.js';
import type { PartialAggregate, Strategy } from '../strategy/types.js';
import { EventQueue } from './event-queue.js';
import { eligibleOn, prepareMessage, prepareParticipants, type Participant } from './membership.js';
import { roundStartMessage, trainingRecord, type RoundStartBase } from './round-start.js';
import { roundBounds } from './update-bounds.js';

/**
 * Forwarded partials the engine holds before it pauses the combiner links that send them (each is a model-sized
 * sum; the links resume once it has read half of them).
 */
export const ASYNC_QUEUE_CAPACITY = 16;

/** A combiner in the stream: its partials' subscription, and its link's hold while the queue is full. */
interface StreamMember {
  handle: CombinerHandle;
  stop: () => void;
  release: (() => void) | null;
}

/** One run of an asynchronous session: its stream id, the combiners in it and what they forwarded. */
interface AsyncRun {
  id: string;
  members: Map<string, StreamMember>;
  queue: EventQueue<{ handle: CombinerHandle; outcome: Outcome<ReceivedPartial> }>;
  bufferSize: number;
  pkg: PackageRecord;
}

/**
 * Runs an async session's stream until the session completes, pauses or stops (or the controller closes).
 * @example
 * ```ts
 * if (strategy.mode === 'async') await runAsyncSession(deps, rt, session);
 * ```
 */
export async function runAsyncSession(deps: ControllerDeps, rt: SessionRuntime, s: SessionRecord): Promise<void> {
  const signal = rt.abort.signal;
  const strategy = rt.strategy as Strategy<unknown, unknown>;
  const bufferSize = Math.max(1, strategy.asyncConfig?.(rt.options).bufferSize ?? 1);
  const pkg = await deps.state.getPackage(s.packageSha);
  if (!pkg) throw fedError('STORAGE', `session ${s.id} lost its package`);
  const stream: AsyncRun = { id: `${s.id}.a.${nonce()}`, members: new Map(), queue: new EventQueue(ASYNC_QUEUE_CAPACITY), bufferSize, pkg };
  let reason = 'session ended';
  try {
    const first = await prepareParticipants(deps, s, stream.id, signal, { streamId: stream.id });
    if (!first) return;
    let initial: Participant[] | null = first;
    for (;;) {
      if (signal.aborted || deps.isClosed()) {
        reason = 'session stopped';
        return;
      }
      const cur = await deps.state.getSession(s.id);
      if (!cur) throw fedError('NOT_FOUND', `no session ${s.id}`);
      if (cur.status !== 'running') {
        reason = `session ${cur.status}`;
        return;
      }
      if (cur.completedRounds >= cur.config.rounds) {
        reason = 'session completed';
        return;
      }
      if (!(await runVersion(deps, rt, cur, stream, initial))) return;
      initial = null;
    }
  } finally {
    for (const m of stream.members.values()) {
      m.stop();
      m.release?.();
      m.handle.peer.send({ v: 2, kind: 'round.abort', roundId: stream.id, reason });
    }
    stream.members.clear();
    rt.live = null;
  }
}

/**
 * Announces the version being built to every combiner of the stream, and brings in live combiners that now
 * have enough eligible clients (a `round.prepare` hands them the selection policy first). `initial`: the
 * participants of the stream's opening prepare (they already have the policy).
 */
function announceVersion(deps: ControllerDeps, s: SessionRecord, stream: AsyncRun, start: RoundStartBase, initial: Participant[] | null, paramCount: number): void {
  const config = s.config;
  const prepare = prepareMessage(s.id, stream.id, config.selection);
  for (const h of deps.registry.list()) {
    let eligible: string[];
    if (initial) {
      const p = initial.find((x) => x.handle.id === h.id);
      if (!p) continue;
      eligible = p.eligible;
    } else {
      eligible = eligibleOn(h, config.selection);
      if (!stream.members.has(h.id)) {
        if (eligible.length < config.clientsRequired) continue;
        h.peer.send(prepare);
      }
    }
    const member = stream.members.get(h.id);
    if (member?.handle !== h) {
      // New here (or the same id on a new link after a reconnect: it must open the stream again).
      member?.stop();
      member?.release?.();
      if (member && !initial) h.peer.send(prepare);
      // Each forwarded partial is a batch of one update: announcements larger than that model's partial are refused.
      const entry: StreamMember = { handle: h, stop: () => undefined, release: null };
      entry.stop = deps.registry.streamPartials(h, stream.id, (outcome) => {
        if (stream.queue.push({ handle: h, outcome }) || entry.release) return;
        // Backpressure: stop reading this combiner's link until the engine has caught up.
        entry.release = h.peer.hold();
        stream.queue.onDrain(() => {
          entry.release?.();
          entry.release = null;
        });
      }, maxPartialFrameBytes(paramCount, 1));
      stream.members.set(h.id, entry);
    }
    // Combiners forward every folded update at once (a batch of one), so the buffer steps at exactly K.
    h.peer.send({ ...start, clientIds: eligible, deadline: Date.now() + config.roundTimeoutMs, forwardEvery: 1 });
  }
}

/** One model version: collect K updates (or what arrived by the deadline), step, commit. False = stop. */
async function runVersion(deps: ControllerDeps, rt: SessionRuntime, s: SessionRecord, stream: AsyncRun, initial: Participant[] | null): Promise<boolean> {
  const signal = rt.abort.signal;
  const config = s.config;
  const strategy = rt.strategy as Strategy<unknown, unknown>;
  const global = rt.global as NonNullable<SessionRuntime['global']>;
  const round = s.completedRounds + 1;
  const ctx = roundContext(s.id, round, config, global.layout);
  const model = await deps.state.getModel(s.currentModelId);
  if (!model) throw fedError('STORAGE', `session ${s.id} lost its model`);
  const roundId = `${s.id}.r${round}.${nonce()}`;
  const startedAt = Date.now();
  let deadline = startedAt + config.roundTimeoutMs;
  const settings = await strategySettings(deps, rt, strategy, ctx);
  const start = roundStartMessage({ session: s, roundId: stream.id, ctx, refs: { model, pkg: stream.pkg }, strategy: { strategy, settings }, bounds: roundBounds(config, global.flat, rt.updateStats, strategy.privacy !== undefined) });
  announceVersion(deps, s, stream, start, initial, ctx.paramCount);
  const record = trainingRecord(roundId, s.id, round, startedAt, deadline, [...stream.members.keys()]);
  await deps.state.putRound(record);
  rt.live = { roundId, round, phase: 'training', combiners: record.combiners, selected: 0, deadline };
  deps.log.info({ sessionId: s.id, streamId: stream.id, version: round - 1, combiners: record.combiners }, 'async session: collecting updates for the next version');
  const aborted = async (reason: string): Promise<false> => {
    if (!deps.isClosed()) await finishRound(deps, rt, s, { ...record, status: 'aborted', reason }, false);
    return false;
  };

  // Collect: K updates, or at the deadline whatever arrived (if it is enough), else wait on.
  let buffer: PartialAggregate | null = null;
  const summaries = new Map<string, PartialSummary>();
  const metricParts: Array<{ metrics: Record<string, number>; weight: number }> = [];
  const enough = Math.max(1, config.minClients, config.validity.minTotalUpdates);
  for (;;) {
    const ev = await stream.queue.next(Math.max(0, deadline - Date.now()), signal);
    if (ev === 'aborted' || deps.isClosed()) return aborted('session stopped');
    if (ev === null) {
      if (buffer && buffer.count >= enough) break;
      const cur = await deps.state.getSession(s.id);
      if (cur?.status !== 'running') return aborted(`session ${cur?.status ?? 'gone'} before the version filled`);
      // Too few updates by the deadline: keep collecting, and bring in clients and combiners that came since.
      deadline = Date.now() + config.roundTimeoutMs;
      rt.live = { ...rt.live, deadline };
      announceVersion(deps, s, stream, start, null, ctx.paramCount);
      continue;
    }
    const { handle, outcome } = ev;
    if (!outcome.ok) {
      deps.log.warn({ streamId: stream.id, combinerId: handle.id, err: outcome.error.message }, 'async session: a combiner left the stream');
      const member = stream.members.get(handle.id);
      if (member?.handle === handle) {
        member.stop();
        member.release?.();
        stream.members.delete(handle.id);
      }
      continue;
    }
    let decoded;
    try {
      decoded = await decodeReceived(handle.id, outcome.value, ctx.paramCount);
    } catch (e) {
      deps.log.warn({ streamId: stream.id, combinerId: handle.id, err: toFedError(e).message }, 'async session: a forwarded partial was refused');
      continue;
    }
    buffer = buffer ? strategy.mergePartials(rt.options, buffer, decoded.partial, ctx) : decoded.partial;
    metricParts.push({ metrics: decoded.metrics, weight: decoded.partial.weight });
    summaries.set(handle.id, addSummary(summaries.get(handle.id), decoded.summary));
    if (buffer.count >= stream.bufferSize) break;
  }

  // Step and commit, as a round's steps 5 and 7.
  rt.live = { ...rt.live, phase: 'reducing' };
  const merged = buffer as PartialAggregate;
  const partials = [...summaries.values()];
  const timings: Record<string, number> = {};
  const progress: RoundRecord = {
    ...record,
    combiners: [...new Set([...record.combiners, ...summaries.keys()])],
    updates: merged.count,
    weight: merged.weight,
    lastUpdateAt: lastUpdateOf(partials),
    partials,
    trainMetrics: trainMetricMeans(metricParts),
    timings,
  };
  const t = Date.now();
  const step = strategy.serverStep(rt.options, rt.state, global.flat, merged, ctx);
  if (!step) {
    await finishRound(deps, rt, s, { ...progress, status: 'failed', reason: 'the strategy kept the previous model' }, true);
    return true;
  }
  timings.step = Date.now() - t;
  const stored = await storeStep(deps, strategy, step, global.layout, timings);
  if (!(await commitStep(deps, rt, s, { progress, parentId: model.id, stored, layout: global.layout }, signal))) return aborted('session stopped');
  deps.log.info(
    { sessionId: s.id, streamId: stream.id, version: round, modelId: trailModelId(s.id, round), updates: merged.count, weight: merged.weight, meanStaleness: step.metrics?.['meanStaleness'] },
    'async session: version committed',
  );
  return true;
}
