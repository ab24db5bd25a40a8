/**
 * The model a train task trains on, when the task names it by its weights (`task.train.download`, README "Delta
 * downloads"): from the cache when the cached model has those weights; else rebuilt from the cached previous
 * model plus the int8, deflated delta; else the full model. Every path checks the weights' SHA-256, so the client
 * trains on exactly the server's reconstruction. The model is cached keyed by that SHA-256 (`CachedModel.sha256`),
 * the base of the next round's delta.
 */
import {
  applyModelDelta,
  decodeFrame,
  encodeFrame,
  fedError,
  flattenTensors,
  isFedError,
  unflattenTensors,
  weightsSha256,
  type BlobRef,
  type MessageOf,
  type TensorSpec,
} from '@fedweb/codec';
import type { ClientCache } from '../cache/types.js';
import type { ModelEvent } from './types.js';

/** What {@link modelForTask} needs of the client. */
export interface ModelStreamDeps {
  cache: ClientCache;
  /** A verified download (HASH_MISMATCH on a bad SHA-256) within the model size limit. */
  fetch(ref: BlobRef): Promise<Uint8Array>;
  /** False: never use a delta. */
  deltas: boolean;
  maxModelBytes: number;
  signal: AbortSignal;
  /** A delta that could not be used (the full model is fetched instead). */
  warn(message: string): void;
}

/** A model frame decoded: its layout and its weights. */
interface Weights {
  layout: TensorSpec[];
  flat: Float32Array;
}

async function weightsOf(frame: Uint8Array, maxModelBytes: number): Promise<Weights> {
  const tensors = await decodeFrame(frame, { limits: { maxBodyBytes: maxModelBytes } });
  return { layout: tensors.map((t) => ({ name: t.name, shape: [...t.shape] })), flat: flattenTensors(tensors) };
}

/** An exactly-sized ArrayBuffer with the view's bytes. */
function own(v: Uint8Array): ArrayBuffer {
  return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
}

/** The frame, and how it was obtained (the `model` event's `via` and `bytes`). */
export interface TaskModel {
  frame: ArrayBuffer;
  event: Omit<ModelEvent, 'roundId' | 'taskId' | 'at'>;
}

/**
 * The model frame `task` trains on (the caller's own copy), verified against `task.download.weightsSha256`.
 * @throws FedError HASH_MISMATCH when the full model's weights are not the announced ones.
 * @example
 * ```ts
 * const { frame, event } = await modelForTask(deps, task); // event.via: 'cache' | 'delta' | 'full'
 * ```
 */
export async function modelForTask(deps: ModelStreamDeps, task: MessageOf<'task.train'>): Promise<TaskModel> {
  const download = task.download;
  if (!download) throw fedError('INTERNAL', 'modelForTask needs a task with a download field');
  const want = download.weightsSha256;
  const hit = await deps.cache.getModel();
  let base: Weights | undefined;
  if (hit) {
    // Judged by the weights the cached bytes hold (a damaged cache must not poison every later round), whatever
    // key it was stored under: a model cached by an older task is the same model if its weights are.
    const w = await weightsOf(new Uint8Array(hit.bytes), deps.maxModelBytes).catch(() => undefined);
    const sha = w ? await weightsSha256(w.flat) : undefined;
    if (w && sha === want) return { frame: hit.bytes, event: { via: 'cache', bytes: 0, weightsSha256: want } };
    if (w && sha === download.delta?.baseSha256) base = w;
  }
  if (deps.deltas && base && download.delta) {
    try {
      const delta = await deps.fetch(download.delta.ref);
      const recon = await applyModelDelta(base.flat, delta, base.layout, { limits: { maxBodyBytes: deps.maxModelBytes } });
      const sha = await weightsSha256(recon);
      if (sha !== want) throw fedError('HASH_MISMATCH', `the model rebuilt from delta ${download.delta.ref.id} has weights SHA-256 ${sha}, the server announced ${want}`);
      // Stored uncompressed: the trainer and the next round decode it without inflating.
      const frame = own(await encodeFrame(unflattenTensors(recon, base.layout), { encoding: 'f32' }));
      await deps.cache.putModel({ id: task.model.id, sha256: want, bytes: frame, storedAt: Date.now() });
      return { frame: frame.slice(0), event: { via: 'delta', bytes: delta.byteLength, weightsSha256: want } };
    } catch (e) {
      if (deps.signal.aborted || !isFedError(e) || e.code === 'ABORTED' || e.code === 'TIMEOUT') throw e;
      deps.warn(`fedweb: delta ${download.delta.ref.id} not usable (${e.code}: ${e.message}); downloading the full model`);
    }
  }
  const bytes = await deps.fetch(task.model);
  const w = await weightsOf(bytes, deps.maxModelBytes);
  const sha = await weightsSha256(w.flat);
  if (sha !== want) throw fedError('HASH_MISMATCH', `model ${task.model.id} has weights SHA-256 ${sha}, the server announced ${want}`);
  const frame = own(bytes);
  await deps.cache.putModel({ id: task.model.id, sha256: want, bytes: frame, storedAt: Date.now() });
  return { frame: frame.slice(0), event: { via: 'full', bytes: bytes.byteLength, weightsSha256: want } };
}
