/**
 * Tensor frames: the binary form of a set of named float32 tensors (a model, an update, a partial sum). The wire
 * layout is described in `frame-header.ts`; this file decodes whole frames to float32 tensors.
 */
import { fedError, isFedError } from './errors.js';
import { dequantizeInt8 } from './quantize.js';
import { dequantizeInt4 } from './quantize-int4.js';
import { parseFrame, type ParsedFrame } from './frame-parse.js';
import type { DecodeFrameOptions } from './frame-header.js';
import type { NamedTensor } from './types.js';

export {
  FRAME_MAGIC,
  FRAME_VERSION,
  FRAME_HEADER_BYTES,
  FLAG_DEFLATE,
  MAX_MANIFEST_BYTES,
  MAX_NAME_LENGTH,
  MAX_RANK,
  DEFAULT_FRAME_LIMITS,
  FrameTensorEntrySchema,
  readFrameHeader,
  type FrameTensorEntry,
  type FrameHeader,
  type DecodeFrameOptions,
} from './frame-header.js';

/**
 * Decodes and fully validates a frame into float32 tensors (int8/int4 dequantized, topk expanded to dense with
 * zeros). The result owns its arrays. Throws a {@link FedError} (`BAD_FRAME`, `VERSION_MISMATCH`,
 * `FRAME_TOO_LARGE`, `NON_FINITE`, `SHAPE_MISMATCH`, `COMPRESSION`) and nothing else.
 *
 * @example
 * ```ts
 * const tensors = await decodeFrame(bytes, { compressor: nodeZlibCompressor, expect: layout });
 * ```
 */
export async function decodeFrame(bytes: Uint8Array, opts: DecodeFrameOptions = {}): Promise<NamedTensor[]> {
  let parsed: ParsedFrame;
  try {
    parsed = await parseFrame(bytes, opts);
  } catch (e) {
    if (isFedError(e)) throw e;
    throw fedError('BAD_FRAME', `frame rejected: ${(e as Error)?.message ?? String(e)}`, undefined, e);
  }
  return decodeParsed(parsed);
}

/**
 * The float32 tensors of a frame that was already parsed (the server screens an update, then a strategy decodes
 * it, with one inflate). The result owns its arrays.
 * @example
 * ```ts
 * const tensors = decodeParsed(await parseFrame(frame, { compressor }));
 * ```
 */
export function decodeParsed(parsed: ParsedFrame): NamedTensor[] {
  return parsed.tensors.map((t) => {
    const shape = [...t.shape];
    if (t.encoding === 'f32') return { name: t.name, shape, data: t.values.slice() };
    if (t.encoding === 'int8') return { name: t.name, shape, data: dequantizeInt8({ blockSize: t.blockSize, scales: t.scales, q: t.q }) };
    if (t.encoding === 'int4') return { name: t.name, shape, data: dequantizeInt4({ blockSize: t.blockSize, n: t.n, scales: t.scales, packed: t.packed }) };
    const data = new Float32Array(t.n);
    const { scales, q, indices, blockSize } = t;
    for (let j = 0; j < t.k; j++) data[indices[j]!] = q[j]! * scales[(j / blockSize) | 0]!;
    return { name: t.name, shape, data };
  });
}
