/**
 * The model a train task trains on, when the task names it by its weights (`task.train.download`, README "Delta
 * downloads"): from the cache when the cached model has those weights; else rebuilt from the cached previous
 * model plus the int8, deflated delta; else the full model. Every path checks the weights' SHA-256, so the client
 * trains on exactly the server's reconstruction. The model is cached keyed by that SHA-256 (`CachedModel.sha256`)
 * as an uncompressed f32 frame, the base of the next round's delta: the delta is added in place in the frame's
 * body (no decode, no re-encode), which keeps the client's work per round to an inflate, an add and a hash.
 */
import {
  applyModelDelta,
  decodeFrame,
  encodeFrame,
  fedError,
  isFedError,
  readFrameHeader,
  weightsSha256,
  type BlobRef,
  type Compressor,
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
  /** The platform's inflate (node:zlib, DecompressionStream); fflate when absent. */
  compressor?: Compressor;
  signal: AbortSignal;
  /** A delta that could not be used (the full model is fetched instead). */
  warn(message: string): void;
}

/** A model frame whose body is its float32 weights: the frame, its layout and a view of the weights in it. */
interface ModelFrame {
  frame: ArrayBuffer;
  layout: TensorSpec[];
  flat: Float32Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `frame` as a {@link ModelFrame} without copying when it is an uncompressed f32 frame whose tensors lie back to
 * back (what this module stores), else decoded and re-encoded so.
 */
async function modelFrame(frame: ArrayBuffer, maxModelBytes: number, compressor?: Compressor): Promise<ModelFrame> {
  const bytes = new Uint8Array(frame);
  const header = readFrameHeader(bytes, { maxBodyBytes: maxModelBytes });
  const layout = header.tensors.map((t) => ({ name: t.name, shape: [...t.shape] }));
  let end = 0;
  const packed = header.tensors.every((t) => t.encoding === 'f32' && t.byteOffset === end && ((end += t.byteLength), true));
  if (LITTLE_ENDIAN && packed && !header.compressed && header.bodyOffset % 4 === 0) {
    return { frame, layout, flat: new Float32Array(frame, header.bodyOffset, end / 4) };
  }
  const tensors = await decodeFrame(bytes, { ...(compressor ? { compressor } : {}), limits: { maxBodyBytes: maxModelBytes } });
  const plain = await encodeFrame(tensors, { encoding: 'f32' });
  return modelFrame(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength) as ArrayBuffer, maxModelBytes);
}

/** The frame, and how it was obtained (the `model` event's `via` and `bytes`). */
export interface TaskModel {
  frame: ArrayBuffer;
  event: Omit<ModelEvent, 'roundId' | 'taskId' | 'at'>;
}

/**
 * The model frame `task` trains on (the caller's own copy), verified against `task.download.weightsSha256`. A
 * `model.prefetch` message names a model the same way and takes the same path.
 * @throws FedError HASH_MISMATCH when the full model's weights are not the announced ones.
 * @example
 * ```ts
 * const { frame, event } = await modelForTask(deps, task); // event.via: 'cache' | 'delta' | 'full'
 * ```
 */
export async function modelForTask(deps: ModelStreamDeps, task: Pick<MessageOf<'task.train'>, 'model' | 'download'>): Promise<TaskModel> {
  const download = task.download;
  if (!download) throw fedError('INTERNAL', 'modelForTask needs a task with a download field');
  const want = download.weightsSha256;
  const keep = async (m: ModelFrame, via: TaskModel['event']['via'], bytes: number): Promise<TaskModel> => {
    if (via !== 'cache') await deps.cache.putModel({ id: task.model.id, sha256: want, bytes: m.frame, storedAt: Date.now() });
    return { frame: via === 'cache' ? m.frame : m.frame.slice(0), event: { via, bytes, f32Bytes: m.flat.byteLength, weightsSha256: want } };
  };
  const hit = await deps.cache.getModel();
  const cached = hit ? await modelFrame(hit.bytes, deps.maxModelBytes, deps.compressor).catch(() => undefined) : undefined;
  if (cached && hit!.sha256 === want && (await weightsSha256(cached.flat)) === want) return keep(cached, 'cache', 0);
  // A base under the delta's key is not hashed first: a damaged one fails the check of the result instead.
  if (deps.deltas && cached && download.delta && hit!.sha256 === download.delta.baseSha256) {
    try {
      const delta = await deps.fetch(download.delta.ref);
      await applyModelDelta(cached.flat, delta, cached.layout, { into: cached.flat, limits: { maxBodyBytes: deps.maxModelBytes }, ...(deps.compressor ? { compressor: deps.compressor } : {}) });
      const sha = await weightsSha256(cached.flat);
      if (sha !== want) throw fedError('HASH_MISMATCH', `the model rebuilt from delta ${download.delta.ref.id} has weights SHA-256 ${sha}, the server announced ${want}`);
      return await keep(cached, 'delta', delta.byteLength);
    } catch (e) {
      if (deps.signal.aborted || !isFedError(e) || e.code === 'ABORTED' || e.code === 'TIMEOUT') throw e;
      deps.warn(`fedweb: delta ${download.delta.ref.id} not usable (${e.code}: ${e.message}); downloading the full model`);
    }
  }
  const bytes = await deps.fetch(task.model);
  const full = await modelFrame(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, deps.maxModelBytes, deps.compressor);
  const sha = await weightsSha256(full.flat);
  if (sha !== want) throw fedError('HASH_MISMATCH', `model ${task.model.id} has weights SHA-256 ${sha}, the server announced ${want}`);
  return keep(full, 'full', bytes.byteLength);
}
