import type { Compressor, FrameLimits } from '@fedweb/codec';
import type { PartialAggregate } from './types.js';
/** A partial ready for the wire: the frame goes as binary chunks, the rest in the `round.partial` message. */
export interface EncodedPartial {
    frame: Uint8Array;
    count: number;
    totalWeight: number;
    scalars: Record<string, number>;
}
/**
 * Encodes a partial aggregate as an f32 frame (tensors named by key, shape `[length]`) plus scalars.
 * Always f32: partials are sums of many updates and must not be quantized again.
 * @example
 * ```ts
 * const enc = await encodePartial(partial, { compressor: nodeZlibCompressor });
 * send({ kind: 'round.partial', count: enc.count, totalWeight: enc.totalWeight, scalars: enc.scalars, ... });
 * ```
 */
export declare function encodePartial(partial: PartialAggregate, opts?: {
    compressor?: Compressor;
}): Promise<EncodedPartial>;
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
export declare function decodePartial(enc: EncodedPartial, opts?: {
    compressor?: Compressor;
    limits?: Partial<FrameLimits>;
    tensorLength?: number;
}): Promise<PartialAggregate>;
