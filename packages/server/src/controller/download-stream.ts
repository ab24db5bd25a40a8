/**
 * The download stream of a session (README "Delta downloads"): the model clients reconstruct, kept beside the
 * exact global model. When a model commits, its change from the last reconstruction is int8-quantized and
 * deflated once ({@link advanceStream}, the codec's `encodeModelDelta`: download-side error feedback), and the
 * reconstruction moves by exactly what was sent. Both frames (the delta, and the reconstruction in full for
 * clients without the base) are content-addressed blobs served at `/api/blobs/<sha256>` (ETag = SHA-256), kept
 * in memory (the newest few; nothing written to disk).
 *
 * Memory only: after a controller restart the stream restarts at the committed model ({@link openStream}), so
 * the first round after it sends every client the full model (their cached base no longer matches).
 */
import { encodeFrame, encodeModelDelta, unflattenTensors, weightsSha256, type BlobRef, type ModelDownload } from '@fedweb/codec';
import { keepOrPut } from '../store/transient-blobs.js';
import type { ControllerDeps, GlobalModel } from './runtime.js';

/**
 * What clients of a session download for the model `modelId`.
 * @example
 * ```ts
 * const msg = { ...base, model: stream.full, download: downloadOf(stream) };
 * ```
 */
export interface DownloadStream {
  /** The trail model this reconstruction follows (within one int8 step per block). */
  modelId: string;
  /** The reconstruction clients train on (float32, layout order). */
  recon: Float32Array;
  weightsSha256: string;
  /** The reconstruction as a full frame (f32), for clients without the base. */
  full: BlobRef;
  /** The change from the previous reconstruction (int8, deflated), with that reconstruction's weights SHA-256. */
  delta?: { baseSha256: string; ref: BlobRef };
}

type StreamDeps = Pick<ControllerDeps, 'blobs' | 'compressor'>;

/**
 * Tells every combiner that `stream`'s model is what the next round of `sessionId` trains on (`model.ready`); each
 * passes it on to its clients as `model.prefetch`, so they download it before the round starts.
 * @example
 * ```ts
 * announceModel(deps, s.id, rt.download);
 * ```
 */
export function announceModel(deps: Pick<ControllerDeps, 'registry'>, sessionId: string, stream: DownloadStream): void {
  const msg = { v: 2, kind: 'model.ready', sessionId, model: stream.full, download: downloadOf(stream) } as const;
  for (const h of deps.registry.list()) h.peer.send(msg);
}

/**
 * Serves `bytes` as a blob and returns its BlobRef (`/api/blobs/<sha256>`): kept in memory when the store allows
 * (store/transient-blobs.ts; the stream is rebuilt after a restart anyway), else written.
 */
async function putBlob(deps: StreamDeps, id: string, bytes: Uint8Array): Promise<BlobRef> {
  const blob = await keepOrPut(deps.blobs, bytes);
  return { id, sha256: blob.sha256, url: `/api/blobs/${blob.sha256}`, bytes: blob.bytes };
}

/**
 * The reconstruction in full: an f32 frame, not deflated. Deflate takes 7-8% off float32 weights and cost
 * 0.8-0.9 s of CPU per round for 1.7M parameters on the bench machine, on the path from commit to the next round;
 * clients also add the next delta straight into this frame's body.
 */
async function fullFrame(deps: StreamDeps, modelId: string, layout: GlobalModel['layout'], recon: Float32Array): Promise<BlobRef> {
  const frame = await encodeFrame(unflattenTensors(recon, layout), { encoding: 'f32' });
  return putBlob(deps, `${modelId}.full`, frame);
}

/**
 * A stream starting at the exact model (no delta: every client downloads it in full).
 * @example
 * ```ts
 * rt.download = await openStream(deps, rt.global);
 * ```
 */
export async function openStream(deps: StreamDeps, global: GlobalModel): Promise<DownloadStream> {
  const recon = global.flat.slice();
  const [full, sha] = await Promise.all([fullFrame(deps, global.modelId, global.layout, recon), weightsSha256(recon)]);
  return { modelId: global.modelId, recon, weightsSha256: sha, full };
}

/**
 * Moves the stream to the newly committed model `next`: one delta frame against the current reconstruction,
 * encoded once for every client at that base, and the new reconstruction's full frame.
 * @example
 * ```ts
 * rt.download = await advanceStream(deps, rt.download, { modelId, layout, flat: step.model });
 * ```
 */
export async function advanceStream(deps: StreamDeps, prev: DownloadStream, next: GlobalModel): Promise<DownloadStream> {
  const { frame, recon } = await encodeModelDelta(next.flat, prev.recon, next.layout, { compressor: deps.compressor });
  const [ref, full, sha] = await Promise.all([
    putBlob(deps, `${next.modelId}.delta`, frame),
    fullFrame(deps, next.modelId, next.layout, recon),
    weightsSha256(recon),
  ]);
  return { modelId: next.modelId, recon, weightsSha256: sha, full, delta: { baseSha256: prev.weightsSha256, ref } };
}

/**
 * The `download` field of `round.start` / `task.train` for a stream.
 * @example
 * ```ts
 * downloadOf(stream) // { weightsSha256, delta: { baseSha256, ref } }
 * ```
 */
export function downloadOf(stream: DownloadStream): ModelDownload {
  return { weightsSha256: stream.weightsSha256, ...(stream.delta ? { delta: stream.delta } : {}) };
}

/**
 * The session's stream for its current model `global`: the runtime's when it follows that model, else a new
 * one opened at it (first round, after a restart, or after a failed advance).
 * @example
 * ```ts
 * const stream = await streamFor(deps, rt);
 * ```
 */
export async function streamFor(deps: StreamDeps, rt: { download?: DownloadStream; global: GlobalModel | null }): Promise<DownloadStream | undefined> {
  if (!rt.global) return undefined;
  if (rt.download?.modelId !== rt.global.modelId) rt.download = await openStream(deps, rt.global);
  return rt.download;
}
