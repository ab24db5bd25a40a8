/**
 * A train task: download the global model, train in the trainer (watched for withdrawal, see withdrawal.ts),
 * persist the encoded update, upload it.
 * Everything needed to resume is cached before it is needed: the task when it starts, the update before it is sent.
 */
import { BlobRefSchema, abortReason, sha256Hex, type MessageOf } from '@fedweb/codec';
import type { PendingUpdate } from '../../cache/types.js';
import { requireCache, type ClientContext } from '../context.js';
import type { ActiveTask } from '../dispatcher.js';
import type { Downloads } from '../downloads.js';
import { randomId } from '../ids.js';
import { boundsFor, checkSettings } from '../settings-bounds.js';
import type { TrainerHost } from '../trainer-host.js';
import type { Uploader } from '../uploader.js';
import type { Withdrawal } from '../withdrawal.js';

/**
 * What a train task uses.
 * @example
 * ```ts
 * const parts: TrainParts = { ctx, downloads, host, uploader };
 * ```
 */
export interface TrainParts {
  ctx: ClientContext;
  downloads: Downloads;
  host: TrainerHost;
  uploader: Uploader;
  withdrawal: Withdrawal;
}

/** An exactly-sized ArrayBuffer holding the view's bytes (a copy only when the view does not span its whole buffer). */
function ownBuffer(v: ArrayBufferView): ArrayBuffer {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) return v.buffer;
  return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
}

/**
 * Runs one train task to its end (acknowledged, refused or deferred). An update trained for this round before a
 * reload or cut and not yet acknowledged is uploaded instead of training again.
 * @example
 * ```ts
 * dispatcher.train(task, stop, (signal, active) => runTrain(parts, task, signal, active));
 * ```
 */
export async function runTrain(parts: TrainParts, task: MessageOf<'task.train'>, signal: AbortSignal, active: ActiveTask): Promise<void> {
  const { ctx, uploader } = parts;
  const { reporter } = ctx;
  const cache = requireCache(ctx);
  const cid = ctx.clientId();
  const base = { roundId: task.roundId, sessionId: task.sessionId, task: 'train' as const };

  // Trained before a reload or cut, not yet acknowledged: upload that instead of training again.
  const pending = await cache.getPendingUpdate(cid);
  if (pending && pending.roundId === task.roundId) {
    await uploader.resume({ ...pending, taskId: active.taskId }, signal);
    return;
  }
  // From here until the update is trained, the session's device conditions are watched: the client withdraws
  // (and this task aborts, down to the trainer) when the device stops meeting them.
  const watch = await parts.withdrawal.watch(task, () => active.taskId, signal);
  let result: Awaited<ReturnType<typeof trainUnderWatch>>;
  try {
    result = await trainUnderWatch(parts, task, watch.signal, active);
    // Withdrawn as training ended: the combiner refuses this round's update now, so it is not sent.
    if (watch.signal.aborted) throw abortReason(watch.signal);
  } finally {
    watch.dispose();
  }
  const bytes = new Uint8Array(result.update);
  const update: PendingUpdate = {
    clientId: cid,
    sessionId: task.sessionId,
    taskId: active.taskId,
    roundId: task.roundId,
    uploadId: randomId('u'),
    bytes: result.update,
    sha256: await sha256Hex(bytes),
    numExamples: result.numExamples,
    metrics: result.metrics,
    trainMs: result.trainMs,
    f32Bytes: result.f32Bytes,
    deadline: task.deadline,
    storedAt: Date.now(),
  };
  reporter.emit('metrics', { roundId: task.roundId, taskId: active.taskId, task: 'train', numExamples: result.numExamples, metrics: result.metrics, trainMs: result.trainMs });
  reporter.emit('round', { ...base, taskId: active.taskId, phase: 'trained', bytes: bytes.byteLength, f32Bytes: result.f32Bytes });
  // Persist before sending: a reload or cut from here on resumes the upload instead of losing the work.
  await cache.putPendingUpdate(update);
  await cache.deletePendingTask(cid, task.roundId);
  await uploader.upload(update, signal);
}

/** Checks the settings, downloads the model and trains it (the part of a train task a withdrawal aborts). */
async function trainUnderWatch(parts: TrainParts, task: MessageOf<'task.train'>, signal: AbortSignal, active: ActiveTask) {
  const { ctx, downloads, host } = parts;
  const { reporter, timeouts } = ctx;
  const cache = requireCache(ctx);
  const cid = ctx.clientId();
  const base = { roundId: task.roundId, sessionId: task.sessionId, task: 'train' as const };
  // Received before a reload, a restart or a cut and not trained to the end: this run resumes it.
  if ((await cache.getPendingTask(cid))?.task.roundId === task.roundId) reporter.emit('round', { ...base, taskId: active.taskId, phase: 'resumed' });
  // Settings outside the bounds (the client's, tightened by the package's) are refused before anything runs;
  // the dispatcher tells the combiner at once.
  const bounds = boundsFor((await downloads.package(task.package, signal)).manifest, ctx.options.settingsBounds, timeouts.trainMs);
  checkSettings(task.settings, bounds);
  reporter.emit('round', { ...base, taskId: active.taskId, phase: 'started' });
  await cache.putPendingTask({ clientId: cid, task, storedAt: Date.now() });

  reporter.setStatus('downloading');
  await downloads.trainModel(task, active.taskId, signal);

  // Per-session client state carried across rounds and reloads: the top-k residual and SCAFFOLD's c_i.
  const residualKey = `topk|${cid}|${task.sessionId}`;
  const controlKey = `scaffold|${cid}|${task.sessionId}`;
  const strategyRef = BlobRefSchema.safeParse(task.settings.strategy['tensors']);
  const timeoutMs = Math.min(bounds.maxTrainMs, Math.max(0, task.deadline - Date.now()) + 60_000);
  const result = await host.run(task.package, signal, async (t) => {
    checkSettings(task.settings, bounds, host.examples);
    const model = await downloads.trainModel(task, active.taskId, signal);
    const residual = task.settings.encoding === 'topk' ? (await cache.getResidual(residualKey))?.data : undefined;
    const control = (await cache.getResidual(controlKey))?.data;
    const strategyTensors = strategyRef.success ? await downloads.blob(strategyRef.data, signal) : undefined;
    reporter.setStatus('training');
    return host.call(
      t,
      `training round ${task.roundId}`,
      timeoutMs,
      signal,
      t.train(
        {
          roundId: task.roundId,
          model,
          settings: task.settings,
          ...(residual ? { residual: ownBuffer(residual) } : {}),
          ...(control ? { controlVariate: ownBuffer(control) } : {}),
          ...(strategyTensors ? { strategyTensors: ownBuffer(strategyTensors) } : {}),
        },
        (p) => reporter.emit('progress', { ...p, roundId: task.roundId, taskId: active.taskId }),
      ),
    );
  });
  if (result.residual) await cache.putResidual({ key: residualKey, data: new Float32Array(result.residual), storedAt: Date.now() });
  if (result.controlVariate) await cache.putResidual({ key: controlKey, data: new Float32Array(result.controlVariate), storedAt: Date.now() });
  return result;
}
