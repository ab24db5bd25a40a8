/**
 * Delta downloads of the global model with download-side error feedback (the EF21-P scheme of Gruntkowska,
 * Tyurin and Richtárik, "EF21-P and Friends", ICML 2023: the server keeps the exact model `x`, clients keep
 * `w`, and each round sends `C(x - w)` with `w += C(x - w)`).
 *
 * The server keeps the exact model `M_r` and the reconstruction `R_r` clients hold (the sum of what it sent).
 * Round r's delta is `D_r = int8(M_r - R_(r-1))`, block-wise (`quantize.ts`), deflated: one frame, encoded once,
 * the same bytes for every client at base `R_(r-1)`. Both sides rebuild `R_r = R_(r-1) + decode(D_r)` with
 * {@link applyModelDelta} (float32 adds of the decoded values, so they agree bit for bit), and check it by
 * {@link weightsSha256}. The error does not accumulate: `|M_r - R_r| <= s_b / 2` per value plus float32
 * rounding, `s_b` being the block's int8 scale (property-tested in `model-delta.test.ts`).
 */
import { fedError } from './errors.js';
import { decodeFrame } from './frame.js';
import { encodeFrame } from './frame-encode.js';
import { layoutSize, unflattenTensors } from './layout.js';
import { sha256Hex } from './hash.js';
import type { Compressor, FrameLimits, TensorSpec } from './types.js';

/**
 * SHA-256 of a model's float32 weights (layout order, little-endian bytes): the identity of a reconstruction,
 * whatever frame carried it.
 * @example
 * ```ts
 * const sha = await weightsSha256(recon); // task.train.download.weightsSha256 names the same weights
 * ```
 */
export function weightsSha256(flat: Float32Array): Promise<string> {
  return sha256Hex(new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength));
}

/**
 * Adds a delta frame (any frame encoding; int8 on the wire) to a base reconstruction: `base + decode(delta)`,
 * float32, in a new array or in `opts.into` (which may be `base` itself: the delta is decoded before any value is
 * written). Throws `SHAPE_MISMATCH` when the frame's tensors are not `layout`'s.
 * @example
 * ```ts
 * const next = await applyModelDelta(base, deltaFrame, layout, { compressor });
 * ```
 */
export async function applyModelDelta(
  base: Float32Array,
  delta: Uint8Array,
  layout: readonly TensorSpec[],
  opts: { compressor?: Compressor; limits?: Partial<FrameLimits>; into?: Float32Array } = {},
): Promise<Float32Array> {
  const n = layoutSize(layout);
  if (base.length !== n) throw fedError('SHAPE_MISMATCH', `base has ${base.length} values, the layout needs ${n}`);
  const tensors = await decodeFrame(delta, { ...(opts.compressor ? { compressor: opts.compressor } : {}), limits: { maxBodyBytes: 5 * n + 1024 * 1024, ...opts.limits } });
  if (tensors.length !== layout.length) throw fedError('SHAPE_MISMATCH', `delta has ${tensors.length} tensors, the model ${layout.length}`);
  const out = opts.into ?? new Float32Array(n);
  if (out.length !== n) throw fedError('SHAPE_MISMATCH', `output has ${out.length} values, the layout needs ${n}`);
  let off = 0;
  for (let t = 0; t < tensors.length; t++) {
    const d = tensors[t]!;
    const spec = layout[t]!;
    if (d.name !== spec.name || d.shape.length !== spec.shape.length || d.shape.some((v, i) => v !== spec.shape[i])) {
      throw fedError('SHAPE_MISMATCH', `delta tensor ${d.name} [${d.shape.join(',')}] is not the model's ${spec.name} [${spec.shape.join(',')}]`);
    }
    const x = d.data;
    for (let i = 0; i < x.length; i++) out[off + i] = base[off + i]! + x[i]!;
    off += x.length;
  }
  return out;
}

/** What {@link encodeModelDelta} returns: the frame to send and the reconstruction it leads to. */
export interface ModelDeltaStep {
  /** int8 + deflate frame of `target - base`, named and shaped as the model. */
  frame: Uint8Array;
  /** `base + decode(frame)`: what every client at `base` holds after applying it. */
  recon: Float32Array;
}

/**
 * Encodes the change from a reconstruction `base` to the exact model `target` (int8, block-wise, deflated), and
 * the reconstruction clients will hold, computed by {@link applyModelDelta} on the frame itself so that server
 * and clients agree bit for bit.
 * @example
 * ```ts
 * const { frame, recon } = await encodeModelDelta(model, stream.recon, layout, { compressor });
 * ```
 */
export async function encodeModelDelta(
  target: Float32Array,
  base: Float32Array,
  layout: readonly TensorSpec[],
  opts: { compressor: Compressor; blockSize?: number },
): Promise<ModelDeltaStep> {
  if (target.length !== base.length) throw fedError('SHAPE_MISMATCH', `model has ${target.length} values, base ${base.length}`);
  const diff = new Float32Array(target.length);
  for (let i = 0; i < diff.length; i++) diff[i] = target[i]! - base[i]!;
  const frame = await encodeFrame(unflattenTensors(diff, layout), {
    encoding: 'int8',
    compressor: opts.compressor,
    ...(opts.blockSize !== undefined ? { blockSize: opts.blockSize } : {}),
  });
  return { frame, recon: await applyModelDelta(base, frame, layout, { compressor: opts.compressor }) };
}
