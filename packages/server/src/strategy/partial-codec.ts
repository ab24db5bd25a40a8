/**
 * Partials travel from a combiner process to the reducer as one f32 tensor frame (one 1-D tensor per key of
 * `partial.tensors`) plus JSON scalars (`round.partial`'s `count`, `totalWeight`, `scalars`).
 */
import { decodeFrame, encodeFrame, fedError } from '@fedweb/codec';
import type { Compressor, FrameLimits } from '@fedweb/codec';
import { z } from 'zod';
import type { PartialAggregate } from './types.js';

/** A partial ready for the wire: the frame goes as binary chunks, the rest in the `round.partial` message. */
export interface EncodedPartial {
  frame: Uint8Array;
  count: number;
  totalWeight: number;
  scalars: Record<string, number>;
}

const MetaSchema = z.object({
  count: z.number().int().nonnegative(),
  totalWeight: z.number().nonnegative().finite(),
  scalars: z.record(z.string().max(64), z.number().finite()),
});

/**
 * Encodes a partial aggregate as an f32 frame (tensors named by key, shape `[length]`) plus scalars.
 * Always f32: partials are sums of many updates and must not be quantized again.
 * @example
 * ```ts
 * const enc = await encodePartial(partial, { compressor: nodeZlibCompressor });
 * send({ kind: 'round.partial', count: enc.count, totalWeight: enc.totalWeight, scalars: enc.scalars, ... });
 * ```
 */
export async function encodePartial(partial: PartialAggregate, opts: { compressor?: Compressor } = {}): Promise<EncodedPartial> {
  const tensors = Object.entries(partial.tensors).map(([name, data]) => ({ name, shape: [data.length], data }));
  const frame = await encodeFrame(tensors, { encoding: 'f32', ...(opts.compressor ? { compressor: opts.compressor } : {}) });
  return { frame, count: partial.count, totalWeight: partial.weight, scalars: { ...partial.scalars } };
}

/**
 * Decodes what {@link encodePartial} produced (after the frame was reassembled and hash-checked).
 * Validates the scalars with zod and, when `tensorLength` is given, that every tensor is 1-D with that many
 * floats (all built-in strategies use `paramCount`); the strategy re-checks the keys it needs.
 * @example
 * ```ts
 * const partial = await decodePartial({ frame, count, totalWeight, scalars }, { compressor, tensorLength: ctx.paramCount });
 * merged = strategy.mergePartials(options, merged, partial, ctx);
 * ```
 */
export async function decodePartial(
  enc: EncodedPartial,
  opts: { compressor?: Compressor; limits?: Partial<FrameLimits>; tensorLength?: number } = {},
): Promise<PartialAggregate> {
  const meta = MetaSchema.safeParse({ count: enc.count, totalWeight: enc.totalWeight, scalars: enc.scalars });
  if (!meta.success) throw fedError('BAD_MESSAGE', `partial aggregate metadata is invalid: ${z.prettifyError(meta.error)}`);
  const decoded = await decodeFrame(enc.frame, {
    ...(opts.compressor ? { compressor: opts.compressor } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  const tensors: Record<string, Float32Array> = {};
  for (const t of decoded) {
    if (Object.hasOwn(tensors, t.name)) throw fedError('BAD_FRAME', `partial tensor '${t.name}' appears twice`);
    if (t.shape.length !== 1) throw fedError('SHAPE_MISMATCH', `partial tensor '${t.name}' has shape [${t.shape.join(',')}], expected 1-D`);
    if (opts.tensorLength !== undefined && t.data.length !== opts.tensorLength) {
      throw fedError('SHAPE_MISMATCH', `partial tensor '${t.name}' has ${t.data.length} floats, expected ${opts.tensorLength}`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) throw fedError('NON_FINITE', `partial tensor '${t.name}' holds a non-finite value at index ${i}`);
    }
    tensors[t.name] = t.data;
  }
  return { count: meta.data.count, weight: meta.data.totalWeight, tensors, scalars: meta.data.scalars };
}

/** Manifest bytes allowed per tensor of a partial frame (name, shape, encoding, offsets), and for the frame itself. */
const PARTIAL_MANIFEST_BYTES_PER_TENSOR = 512;
const PARTIAL_FRAME_OVERHEAD_BYTES = 64 * 1024;

/**
 * The largest partial frame a combiner may announce for a model of `paramCount` parameters when it folded at most
 * `updates` client updates: sum strategies send a few model-sized tensors, buffered ones (median, trimmed mean)
 * one per update, so the frame holds at most max(4, updates) tensors of `paramCount` values, counted at 8 bytes
 * a value (room for f64 partials). The controller checks an announcement against it before allocating anything.
 * @example
 * ```ts
 * maxPartialFrameBytes(1000, 10) // 10 * (1000 * 8 + 512) + 65536
 * ```
 */
export function maxPartialFrameBytes(paramCount: number, updates: number): number {
  const tensors = Math.max(4, Math.ceil(updates));
  return tensors * (paramCount * 8 + PARTIAL_MANIFEST_BYTES_PER_TENSOR) + PARTIAL_FRAME_OVERHEAD_BYTES;
}
