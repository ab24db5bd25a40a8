/**
 * The model trail: each global model with its parent, metrics and time. A round (or async version) ends here.
 * Commit order, so a kill -9 at any point leaves either the old or the new model: the model blob is written
 * (fsynced) first ({@link storeStep}), then one transaction adds the trail row, the round row, the session's
 * progress and the metric rows ({@link commitStep}). A round that ends without a model goes through
 * {@link finishRound}.
 */
import { encodeFrame, fedError, toFedError, unflattenTensors, type BlobRef, type Metrics } from '@fedweb/codec';
import type { MetricRow, ModelRecord, RoundRecord, SessionRecord } from '../store/types.js';
import type { Strategy } from '../strategy/types.js';
import { emit, type ControllerDeps, type GlobalModel, type SessionRuntime } from './runtime.js';
import { persistState } from './session-state.js';

/**
 * The BlobRef of a model in the trail.
 * @example
 * ```ts
 * modelRef(model).url // '/api/models/s1.m3'
 * ```
 */
export function modelRef(m: Pick<ModelRecord, 'id' | 'sha256' | 'bytes'>): BlobRef {
  return { id: m.id, sha256: m.sha256, url: `/api/models/${encodeURIComponent(m.id)}`, bytes: m.bytes };
}

/**
 * The trail id of the model a session's round (or async version) `round` commits.
 * @example
 * ```ts
 * trailModelId('s1', 3) // 's1.m3'
 * ```
 */
export function trailModelId(sessionId: string, round: number): string {
  return `${sessionId}.m${round}`;
}

/** A strategy step made durable: the model blob and the persisted strategy state, ready to commit. */
export interface StoredStep {
  step: { model: Float32Array; state: unknown; metrics?: Metrics };
  blob: { sha256: string; bytes: number; path: string };
  persisted: { json: unknown; sha: string | null };
}

/**
 * Writes a strategy step's model (an f32 frame) and its strategy state as blobs, before any row points at
 * them. Records `encode` and `store` in `timings`.
 * @example
 * ```ts
 * const stored = await storeStep(deps, strategy, step, global.layout, timings);
 * ```
 */
export async function storeStep(
  deps: Pick<ControllerDeps, 'blobs'>,
  strategy: Strategy<unknown, unknown>,
  step: StoredStep['step'],
  layout: GlobalModel['layout'],
  timings: Record<string, number>,
): Promise<StoredStep> {
  let t = Date.now();
  const frame = await encodeFrame(unflattenTensors(step.model, layout), { encoding: 'f32' });
  timings.encode = Date.now() - t;
  t = Date.now();
  const blob = await deps.blobs.put(frame); // durable before any row points at it
  const persisted = await persistState(deps, strategy, step.state);
  timings.store = Date.now() - t;
  return { step, blob, persisted };
}

/**
 * Commits a stored step, for sync rounds and async versions alike: the new global model, the committed round
 * record, the session's trail head and strategy state, and the metric rows, in one transaction; then adopts
 * the step as the runtime's global model and emits `model` and `round`. `progress.timings` gets the commit's
 * duration. Commits nothing and returns false when `signal` has fired (the session was stopped, or the
 * controller is closing): a stop that lands while a round reduces or validates must not move the trail.
 * @example
 * ```ts
 * if (!(await commitStep(deps, rt, s, { progress, parentId: model.id, stored, layout }, signal))) return abortRound();
 * ```
 */
export async function commitStep(
  deps: Pick<ControllerDeps, 'state' | 'log' | 'events'>,
  rt: SessionRuntime,
  s: SessionRecord,
  c: { progress: RoundRecord; parentId: string; stored: StoredStep; layout: GlobalModel['layout']; validationMetrics?: Metrics },
  signal: AbortSignal,
): Promise<boolean> {
  const { progress } = c;
  const { step, blob, persisted } = c.stored;
  const { round, updates, weight, trainMetrics, timings } = progress;
  const modelId = trailModelId(s.id, round);
  const committedAt = Date.now();
  const serverMetrics: Metrics = { ...(step.metrics ?? {}) };
  const validationMetrics = c.validationMetrics ?? {};
  const modelRec: ModelRecord = {
    id: modelId,
    parentId: c.parentId,
    sessionId: s.id,
    round,
    sha256: blob.sha256,
    bytes: blob.bytes,
    blobPath: blob.path,
    metrics: { ...prefix('train.', trainMetrics), ...prefix('val.', validationMetrics), ...prefix('server.', serverMetrics), updates, weight },
    createdAt: committedAt,
  };
  const final: RoundRecord = { ...progress, status: 'committed', committedAt, modelId, ...(c.validationMetrics ? { validationMetrics } : {}) };
  const metrics: MetricRow[] = [
    ...rows(s.id, round, 'train', trainMetrics),
    ...rows(s.id, round, 'validate', validationMetrics),
    ...rows(s.id, round, 'server', { ...serverMetrics, updates, weight }),
  ];
  // The last look before the transaction: no await between this check and the commit's start.
  if (signal.aborted) return false;
  await deps.state.commitRound({
    model: modelRec,
    round: final,
    session: { id: s.id, currentModelId: modelId, completedRounds: round, strategyState: persisted.json, strategyStateSha: persisted.sha },
    metrics,
  });
  // The commit's own duration is recorded afterwards (metadata only; the round is already durable).
  timings['commit'] = Date.now() - committedAt;
  await deps.state.putRound(final).catch((e: unknown) => deps.log.warn({ err: toFedError(e).message }, 'recording round timings failed'));
  rt.state = step.state;
  rt.global = { modelId, layout: c.layout, flat: step.model };
  emit(deps, 'model', modelRec);
  emit(deps, 'round', final);
  return true;
}

/**
 * Ends a round without a new model (failed or aborted). A failed round still counts as done (`counts`: the
 * session's progress moves on, its trail head does not); an aborted one is only recorded.
 * @example
 * ```ts
 * await finishRound(deps, rt, s, { ...record, status: 'aborted', reason: 'session stopped' }, false);
 * ```
 */
export async function finishRound(deps: Pick<ControllerDeps, 'state' | 'events'>, rt: SessionRuntime, s: SessionRecord, rec: RoundRecord, counts: boolean): Promise<void> {
  if (counts) {
    const current = await deps.state.getSession(s.id);
    if (!current) throw fedError('NOT_FOUND', `no session ${s.id}`);
    await deps.state.commitRound({
      model: null,
      round: rec,
      session: { id: s.id, currentModelId: current.currentModelId, completedRounds: rec.round, strategyState: current.strategyState, strategyStateSha: current.strategyStateSha },
      metrics: rows(s.id, rec.round, 'train', rec.trainMetrics),
    });
  } else {
    await deps.state.putRound(rec);
  }
  rt.live = null;
  emit(deps, 'round', rec);
}

function prefix(p: string, m: Metrics): Metrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${p}${k}`, v]));
}

function rows(sessionId: string, round: number, scope: MetricRow['scope'], m: Metrics): MetricRow[] {
  return Object.entries(m).map(([name, value]) => ({ sessionId, round, scope, name, value }));
}
