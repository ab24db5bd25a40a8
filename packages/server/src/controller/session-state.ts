/**
 * A session's strategy and global model: the strategy and its options from the session config, the context a
 * round hands the strategy, the global model loaded from the trail, the strategy state persisted (tensors as a
 * blob) and rebuilt after a restart.
 */
import { randomBytes } from 'node:crypto';
import { decodeFrame, encodeFrame, fedError, flattenTensors, layoutSize, mixSeed, toFedError, type BlobRef, type TensorSpec } from '@fedweb/codec';
import type { SessionConfig } from '../config.js';
import type { ModelRecord, SessionRecord } from '../store/types.js';
import { getStrategy } from '../strategy/index.js';
import type { Strategy, StrategyContext } from '../strategy/types.js';
import type { ControllerDeps, GlobalModel, SessionRuntime } from './runtime.js';

/**
 * A short random suffix for session, round and stream ids.
 * @example
 * ```ts
 * `${sessionId}.r${round}.${nonce()}` // 's1.r3.9f2c01ab'
 * ```
 */
export const nonce = (): string => randomBytes(4).toString('hex');

/**
 * The session config's strategy.
 * @throws FedError BAD_CONFIG when no strategy has that name.
 * @example
 * ```ts
 * const strategy = strategyOf(session.config);
 * ```
 */
export function strategyOf(config: SessionConfig): Strategy<unknown, unknown> {
  try {
    return getStrategy(config.strategy.name) as Strategy<unknown, unknown>;
  } catch (e) {
    throw fedError('BAD_CONFIG', toFedError(e).message);
  }
}

/**
 * The session config's strategy options, parsed by the strategy's schema.
 * @throws FedError BAD_CONFIG when they do not parse.
 * @example
 * ```ts
 * const options = strategyOptions(strategy, config);
 * ```
 */
export function strategyOptions(strategy: Strategy<unknown, unknown>, config: SessionConfig): unknown {
  const r = strategy.optionsSchema.safeParse(config.strategy.options);
  if (!r.success) throw fedError('BAD_CONFIG', `strategy.options: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  return r.data;
}

/**
 * What the strategy sees of a round: its layout, parameter count (the codec's `layoutSize`) and seed.
 * @example
 * ```ts
 * const ctx = roundContext(s.id, round, s.config, global.layout);
 * ```
 */
export function roundContext(sessionId: string, round: number, config: SessionConfig, layout: TensorSpec[]): StrategyContext {
  return { sessionId, round, layout, paramCount: layoutSize(layout), seed: mixSeed(config.seed, round) };
}

/**
 * Loads a model of the trail into memory (flat, with its layout).
 * @example
 * ```ts
 * rt.global = await loadGlobal(deps, await state.getModel(s.currentModelId));
 * ```
 */
export async function loadGlobal(deps: Pick<ControllerDeps, 'blobs' | 'compressor'>, model: ModelRecord): Promise<GlobalModel> {
  const bytes = await deps.blobs.get(model.sha256);
  if (!bytes) throw fedError('STORAGE', `blob of model ${model.id} is missing`);
  const tensors = await decodeFrame(bytes, { compressor: deps.compressor });
  return { modelId: model.id, layout: tensors.map((t) => ({ name: t.name, shape: t.shape })), flat: flattenTensors(tensors) };
}

/**
 * Stores a strategy state: its JSON part as is, its tensors as one f32 blob (the store keeps the SHA-256).
 * @example
 * ```ts
 * const { json, sha } = await persistState(deps, strategy, step.state);
 * ```
 */
export async function persistState(deps: Pick<ControllerDeps, 'blobs'>, strategy: Strategy<unknown, unknown>, value: unknown): Promise<{ json: unknown; sha: string | null }> {
  const enc = strategy.encodeState(value);
  const names = Object.keys(enc.tensors);
  if (names.length === 0) return { json: enc.json ?? null, sha: null };
  const frame = await encodeFrame(
    names.map((name) => ({ name, shape: [(enc.tensors[name] as Float32Array).length], data: enc.tensors[name] as Float32Array })),
    { encoding: 'f32' },
  );
  return { json: enc.json ?? null, sha: (await deps.blobs.put(frame)).sha256 };
}

/**
 * Rebuilds the in-memory strategy state and global model of a session (after a restart, or a new trail head).
 * @example
 * ```ts
 * await hydrate(deps, rt, session);
 * ```
 */
export async function hydrate(deps: Pick<ControllerDeps, 'blobs' | 'compressor' | 'state'>, rt: SessionRuntime, s: SessionRecord): Promise<void> {
  if (!rt.strategy) {
    rt.strategy = strategyOf(s.config);
    rt.options = strategyOptions(rt.strategy, s.config);
    const tensors: Record<string, Float32Array> = {};
    if (s.strategyStateSha) {
      const bytes = await deps.blobs.get(s.strategyStateSha);
      if (!bytes) throw fedError('STORAGE', `strategy state blob ${s.strategyStateSha} is missing`);
      for (const t of await decodeFrame(bytes)) tensors[t.name] = t.data;
    }
    rt.state = rt.strategy.decodeState(s.strategyState, tensors);
  }
  if (!rt.global || rt.global.modelId !== s.currentModelId) {
    const model = await deps.state.getModel(s.currentModelId);
    if (!model) throw fedError('STORAGE', `model ${s.currentModelId} of session ${s.id} is missing`);
    rt.global = await loadGlobal(deps, model);
  }
}

/**
 * The strategy's per-round client settings (`configureFit`), plus its client tensors (SCAFFOLD's control
 * variate) stored as a blob and referenced as `tensors`, for sync rounds and async versions alike.
 * @example
 * ```ts
 * const settings = await strategySettings(deps, rt, strategy, ctx); // { mu: 0.01 } or { tensors: BlobRef }
 * ```
 */
export async function strategySettings(
  deps: Pick<ControllerDeps, 'blobs'>,
  rt: SessionRuntime,
  strategy: Strategy<unknown, unknown>,
  ctx: StrategyContext,
): Promise<Record<string, unknown>> {
  const settings: Record<string, unknown> = { ...strategy.configureFit(rt.options, rt.state, ctx) };
  const clientTensors = strategy.clientTensors?.(rt.options, rt.state, ctx) ?? [];
  if (clientTensors.length > 0) {
    const blob = await deps.blobs.put(await encodeFrame(clientTensors, { encoding: 'f32' }));
    settings.tensors = { id: `st-${blob.sha256.slice(0, 16)}`, sha256: blob.sha256, url: `/api/blobs/${blob.sha256}`, bytes: blob.bytes } satisfies BlobRef;
  }
  return settings;
}
