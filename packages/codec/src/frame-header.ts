/**
 * Tensor frames: the binary form of a set of named float32 tensors (a model, an update, a partial sum).
 *
 * ```
 * offset  size  field
 * 0       4     magic "FWF1" (46 57 46 31)
 * 4       1     format version (1)
 * 5       1     flags: bit 0 = body is raw-deflated (RFC 1951); other bits 0
 * 6       2     reserved, 0
 * 8       4     M = manifest length in bytes (u32 LE)
 * 12      4     B = body length in bytes before deflate (u32 LE)
 * 16      M     manifest: UTF-8 JSON {"tensors":[{name,shape,dtype,encoding,blockSize?,k?,byteOffset,byteLength}]}
 * 16+M    pad   zero bytes up to a multiple of 8
 * P       ...   body: B bytes, or a raw-deflate stream inflating to exactly B bytes
 * ```
 * Tensor payloads lie in the body in manifest order, each starting at the next multiple of 4 after the
 * previous one (zero padding), the last ending exactly at B. Payloads (all little-endian):
 *  - `f32`:  n float32.
 *  - `int8`: ceil(n/blockSize) float32 scales, then n int8 (see `quantize.ts`).
 *  - `int4`: ceil(n/blockSize) float32 scales, then ceil(n/2) bytes of packed nibbles (see `quantize-int4.ts`).
 *  - `topk`: ceil(k/blockSize) float32 scales, k int8 values, then k LEB128 index gaps (see `topk.ts`).
 * The layout is canonical: one set of tensors and options encodes to exactly one byte string. This file reads
 * the header and manifest; `frame-parse.ts` validates the body, `frame.ts` decodes, `frame-encode.ts` writes.
 */
import { z } from 'zod';
import { fedError, type ErrorCode } from './errors.js';
import { alignUp, textDecoder, textEncoder } from './bytes.js';
import { maxInflatedSize } from './compress.js';
import { MAX_BLOCK_SIZE, blockCount } from './quantize.js';
import { int4Bytes } from './quantize-int4.js';
import type { Compressor, FrameLimits, TensorSpec } from './types.js';

export const FRAME_MAGIC = 'FWF1';
export const FRAME_VERSION = 1;
/** Bytes of the fixed binary header before the manifest. */
export const FRAME_HEADER_BYTES = 16;
/** Flag bit: the body is raw-deflated. */
export const FLAG_DEFLATE = 1;
/** Largest manifest accepted (bytes of JSON). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** Longest tensor name, and highest rank. */
export const MAX_NAME_LENGTH = 256;
export const MAX_RANK = 8;

/** Limits applied to frames from peers unless overridden. */
export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  maxFrameBytes: 512 * 1024 * 1024,
  maxBodyBytes: 1024 * 1024 * 1024,
  maxTensors: 4096,
  maxElements: 256 * 1024 * 1024,
});

const MAGIC_BYTES = textEncoder.encode(FRAME_MAGIC);

const dim = z.number().int().nonnegative().max(2 ** 32);
const entryBase = {
  name: z.string().min(1).max(MAX_NAME_LENGTH),
  shape: z.array(dim).max(MAX_RANK),
  dtype: z.literal('float32'),
  byteOffset: z.number().int().nonnegative().max(2 ** 32),
  byteLength: z.number().int().nonnegative().max(2 ** 32),
};
const blockSizeSchema = z.number().int().min(1).max(MAX_BLOCK_SIZE);
/** One tensor of a frame manifest. */
export const FrameTensorEntrySchema = z.discriminatedUnion('encoding', [
  z.object({ ...entryBase, encoding: z.literal('f32') }).strict(),
  z.object({ ...entryBase, encoding: z.literal('int8'), blockSize: blockSizeSchema }).strict(),
  z.object({ ...entryBase, encoding: z.literal('int4'), blockSize: blockSizeSchema }).strict(),
  z.object({ ...entryBase, encoding: z.literal('topk'), blockSize: blockSizeSchema, k: z.number().int().nonnegative().max(2 ** 32) }).strict(),
]);
export type FrameTensorEntry = z.infer<typeof FrameTensorEntrySchema>;
const ManifestSchema = z.object({ tensors: z.array(FrameTensorEntrySchema) }).strict();

/** What {@link readFrameHeader} returns: everything but the body. */
export interface FrameHeader {
  version: number;
  compressed: boolean;
  /** Bytes of the JSON manifest. */
  manifestBytes: number;
  /** Offset of the (stored) body in the frame. */
  bodyOffset: number;
  /** Body length before deflate. */
  bodyBytes: number;
  /** Body length as stored (compressed length when `compressed`). */
  storedBodyBytes: number;
  /** Total elements over all tensors. */
  elements: number;
  tensors: FrameTensorEntry[];
}

export interface DecodeFrameOptions {
  /** Inflates compressed bodies (default {@link fflateCompressor}). */
  compressor?: Compressor;
  limits?: Partial<FrameLimits>;
  /** Require exactly these names and shapes, in order (else `SHAPE_MISMATCH`). */
  expect?: readonly TensorSpec[];
}

/** Throws a `BAD_FRAME` (or `code`) FedError. */
export function bad(message: string, code: ErrorCode = 'BAD_FRAME'): never {
  throw fedError(code, message);
}

/** The default limits overridden by `limits`, each checked to be a non-negative integer (else `BAD_CONFIG`). */
export function resolveLimits(limits: Partial<FrameLimits> | undefined): FrameLimits {
  const l = { ...DEFAULT_FRAME_LIMITS, ...limits };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 0) throw fedError('BAD_CONFIG', `frame limit ${k} must be a non-negative integer, got ${String(v)}`);
  }
  return l;
}

/** Payload bytes of a tensor entry before its varints (for topk) or exactly (f32, int8, int4). */
function fixedPayloadBytes(e: FrameTensorEntry, n: number): number {
  switch (e.encoding) {
    case 'f32':
      return 4 * n;
    case 'int8':
      return 4 * blockCount(n, e.blockSize) + n;
    case 'int4':
      return 4 * blockCount(n, e.blockSize) + int4Bytes(n);
    case 'topk':
      return 4 * blockCount(e.k, e.blockSize) + e.k;
  }
}

/** Elements of a manifest entry (the product of its shape), `FRAME_TOO_LARGE` past `maxElements`. */
export function entryElements(e: FrameTensorEntry, maxElements: number): number {
  let n = 1;
  for (const d of e.shape) {
    n *= d;
    if (n > maxElements) bad(`tensor ${e.name} has shape [${e.shape.join(',')}], over the limit of ${maxElements} elements`, 'FRAME_TOO_LARGE');
  }
  return n;
}

/**
 * Parses and validates a frame's header and manifest without touching the body: magic, version, flags,
 * lengths, JSON schema, shapes vs byte lengths, canonical offsets, limits. Throws `BAD_FRAME`,
 * `VERSION_MISMATCH` or `FRAME_TOO_LARGE`.
 *
 * @example
 * ```ts
 * const h = readFrameHeader(bytes);
 * console.log(h.tensors.map((t) => `${t.name} ${t.encoding} [${t.shape}]`), h.compressed);
 * ```
 */
export function readFrameHeader(bytes: Uint8Array, limits?: Partial<FrameLimits>): FrameHeader {
  const lim = resolveLimits(limits);
  if (!(bytes instanceof Uint8Array)) bad('a frame must be a Uint8Array');
  if (bytes.length > lim.maxFrameBytes) bad(`frame is ${bytes.length} bytes, limit ${lim.maxFrameBytes}`, 'FRAME_TOO_LARGE');
  if (bytes.length < FRAME_HEADER_BYTES) bad(`frame is ${bytes.length} bytes, shorter than its ${FRAME_HEADER_BYTES}-byte header`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC_BYTES[i]) bad('not a fedweb frame (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  const version = dv.getUint8(4);
  if (version !== FRAME_VERSION) bad(`frame format version ${version}, this peer reads ${FRAME_VERSION}`, 'VERSION_MISMATCH');
  const flags = dv.getUint8(5);
  if ((flags & ~FLAG_DEFLATE) !== 0) bad(`unknown frame flags 0x${flags.toString(16)}`);
  if (dv.getUint16(6, true) !== 0) bad('reserved header bytes are not zero');
  const manifestBytes = dv.getUint32(8, true);
  const bodyBytes = dv.getUint32(12, true);
  if (manifestBytes > MAX_MANIFEST_BYTES) bad(`manifest is ${manifestBytes} bytes, limit ${MAX_MANIFEST_BYTES}`, 'FRAME_TOO_LARGE');
  const bodyOffset = alignUp(FRAME_HEADER_BYTES + manifestBytes, 8);
  if (bodyOffset > bytes.length) bad(`manifest of ${manifestBytes} bytes runs past the end of a ${bytes.length}-byte frame`);
  for (let i = FRAME_HEADER_BYTES + manifestBytes; i < bodyOffset; i++) if (bytes[i] !== 0) bad('manifest padding is not zero');
  if (bodyBytes > lim.maxBodyBytes) bad(`body is ${bodyBytes} bytes, limit ${lim.maxBodyBytes}`, 'FRAME_TOO_LARGE');
  const compressed = (flags & FLAG_DEFLATE) !== 0;
  const storedBodyBytes = bytes.length - bodyOffset;
  if (!compressed && storedBodyBytes !== bodyBytes) bad(`header says ${bodyBytes} body bytes, frame holds ${storedBodyBytes}`);
  if (compressed && bodyBytes > maxInflatedSize(storedBodyBytes)) {
    bad(`header says ${bodyBytes} body bytes, more than ${storedBodyBytes} deflated bytes can hold`);
  }

  let raw: unknown;
  try {
    raw = JSON.parse(textDecoder.decode(bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + manifestBytes)));
  } catch (e) {
    bad(`manifest is not UTF-8 JSON: ${(e as Error).message}`);
  }
  const rawTensors = (raw as { tensors?: unknown } | null)?.tensors;
  if (Array.isArray(rawTensors) && rawTensors.length > lim.maxTensors) {
    bad(`frame has ${rawTensors.length} tensors, limit ${lim.maxTensors}`, 'FRAME_TOO_LARGE');
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    bad(`invalid manifest at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`);
  }
  const tensors = parsed.data.tensors;

  const names = new Set<string>();
  let elements = 0;
  let end = 0;
  for (const e of tensors) {
    if (names.has(e.name)) bad(`duplicate tensor name ${e.name}`);
    names.add(e.name);
    const n = entryElements(e, lim.maxElements);
    elements += n;
    if (elements > lim.maxElements) bad(`frame has more than ${lim.maxElements} elements`, 'FRAME_TOO_LARGE');
    const expectedOffset = alignUp(end, 4);
    if (e.byteOffset !== expectedOffset) bad(`tensor ${e.name} starts at body byte ${e.byteOffset}, expected ${expectedOffset}`);
    if (e.encoding === 'topk' && e.k > n) bad(`tensor ${e.name} keeps k=${e.k} of ${n} values`);
    const fixed = fixedPayloadBytes(e, n);
    if (e.encoding === 'topk') {
      // Each of the k index varints takes 1 to 5 bytes.
      if (e.byteLength < fixed + e.k || e.byteLength > fixed + 5 * e.k) bad(`tensor ${e.name}: byteLength ${e.byteLength} impossible for k=${e.k}`);
    } else if (e.byteLength !== fixed) {
      bad(`tensor ${e.name}: byteLength ${e.byteLength}, ${e.encoding} [${e.shape.join(',')}] needs ${fixed}`);
    }
    end = e.byteOffset + e.byteLength;
    if (end > bodyBytes) bad(`tensor ${e.name} ends at body byte ${end}, body has ${bodyBytes}`);
  }
  if (end !== bodyBytes) bad(`body has ${bodyBytes - end} stray bytes after the last tensor`);
  return { version, compressed, manifestBytes, bodyOffset, bodyBytes, storedBodyBytes, elements, tensors };
}

