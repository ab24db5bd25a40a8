/**
 * What starts a round (or an async version): the `round.start` message every combiner gets (one builder for
 * sync rounds and async streams), the clients' training settings in it, and the round record written as
 * training begins.
 */
import { hasConditions, type ComputePackageManifest, type MessageOf, type TrainSettings } from '@fedweb/codec';
import { deviceConditions, type SessionConfig } from '../config.js';
import { packageRef } from '../controller/packages.js';
import { downloadOf, type DownloadStream } from '../controller/download-stream.js';
import { modelRef } from '../controller/trail.js';
import type { ModelRecord, PackageRecord, RoundRecord, SessionRecord } from '../store/types.js';
import type { Strategy, StrategyContext } from '../strategy/types.js';
import type { RoundBounds } from './update-bounds.js';

/** `round.start` without the per-combiner part (its clients, deadline, and the sync quota or async forward batch). */
export type RoundStartBase = Omit<MessageOf<'round.start'>, 'clientIds' | 'deadline' | 'quota' | 'forwardEvery'>;

/**
 * The `round.start` every combiner of a round (or of an async stream, `roundId` = the stream id) gets, before
 * its clients, deadline and quota are added.
 * @example
 * ```ts
 * const base = roundStartMessage({ session: s, roundId, ctx, refs: { model, pkg }, strategy: { strategy, settings }, bounds });
 * handle.peer.send({ ...base, clientIds, deadline, quota: clientIds.length });
 * ```
 */
export function roundStartMessage(a: {
  session: SessionRecord;
  roundId: string;
  ctx: StrategyContext;
  refs: { model: ModelRecord; pkg: PackageRecord };
  strategy: { strategy: Strategy<unknown, unknown>; settings: Record<string, unknown> };
  /** The round's value bounds (update-bounds.ts `roundBounds`). */
  bounds: RoundBounds;
  /** Delta downloads: clients train on this stream's reconstruction (absent: on the trail model, downloaded in full). */
  download?: DownloadStream;
}): RoundStartBase {
  const config = a.session.config;
  const { model, pkg } = a.refs;
  const { strategy, settings } = a.strategy;
  return {
    v: 2,
    kind: 'round.start',
    sessionId: a.session.id,
    roundId: a.roundId,
    round: a.ctx.round,
    seed: a.ctx.seed,
    ...a.bounds,
    ...(a.download ? { model: a.download.full, download: downloadOf(a.download) } : { model: modelRef(model) }),
    package: packageRef(pkg),
    settings: clientSettings(config, pkg.manifest as ComputePackageManifest, a.ctx.round, settings),
    strategy: { name: strategy.name, options: config.strategy.options },
  };
}

/**
 * The training settings clients get for round (or async version) `round`: the session's, over the package
 * manifest's defaults, with the round's decayed learning rate and the selection policy's device conditions.
 * @example
 * ```ts
 * clientSettings(config, manifest, 3, {}).learningRate // config.learningRate * config.learningRateDecay ** 2
 * ```
 */
export function clientSettings(config: SessionConfig, manifest: ComputePackageManifest, round: number, strategy: Record<string, unknown>): TrainSettings {
  const conditions = deviceConditions(config.selection);
  return {
    localEpochs: config.localEpochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate * config.learningRateDecay ** Math.max(0, round - 1),
    encoding: config.encoding,
    ...(config.topkFraction !== undefined ? { topkFraction: config.topkFraction } : {}),
    ...(config.rounding !== undefined ? { rounding: config.rounding } : {}),
    strategy,
    extra: { ...(manifest.settings ?? {}), ...config.extra },
    // The device conditions of selection, watched by clients while they train (they withdraw on a breach).
    ...(hasConditions(conditions) ? { conditions } : {}),
  };
}

/**
 * The record of a round (or async version) that has just started training.
 * @example
 * ```ts
 * await state.putRound(trainingRecord(roundId, s.id, round, Date.now(), deadline, ['embedded']));
 * ```
 */
export function trainingRecord(id: string, sessionId: string, round: number, startedAt: number, deadline: number, combiners: string[]): RoundRecord {
  return {
    id,
    sessionId,
    round,
    status: 'training',
    startedAt,
    deadline,
    lastUpdateAt: null,
    committedAt: null,
    modelId: null,
    updates: 0,
    weight: 0,
    combiners,
    partials: [],
    trainMetrics: {},
    validationMetrics: {},
    timings: {},
    reason: null,
  };
}
