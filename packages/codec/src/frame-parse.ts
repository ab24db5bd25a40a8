/**
 * Frame bodies: inflating (once) and validating every payload of a frame, returning typed views over the body.
 * `decodeFrame`, `frameStats` and `foldInto` all build on {@link parseFrame}; a server that needs the stats and
 * then the fold of one update parses it once and hands the {@link ParsedFrame} to both (`foldParsed`,
 * `parsedStats`), and a worker thread can inflate and validate ({@link parseBody}) while the main thread folds.
 */
import { fedError, isFedError } from './errors.js';
import { aligned4, readF32 } from './bytes.js';
import { fflateCompressor } from './compress.js';
import { MAX_INT8_SCALE, blockCount } from './quantize.js';
import { MAX_INT4_SCALE, int4Bytes } from './quantize-int4.js';
import { readIndexGaps } from './topk.js';
import { bad, entryElements, readFrameHeader, resolveLimits, type DecodeFrameOptions, type FrameHeader, type FrameTensorEntry } from './frame-header.js';
import type { FrameLimits, TensorSpec } from './types.js';

/** A validated tensor payload, as views over the (inflated) body. */
export type ParsedTensor =
  | { encoding: 'f32'; name: string; shape: number[]; n: number; values: Float32Array }
  | { encoding: 'int8'; name: string; shape: number[]; n: number; blockSize: number; scales: Float32Array; q: Int8Array }
  | { encoding: 'int4'; name: string; shape: number[]; n: number; blockSize: number; scales: Float32Array; packed: Uint8Array }
  | { encoding: 'topk'; name: string; shape: number[]; n: number; k: number; blockSize: number; scales: Float32Array; q: Int8Array; indices: Uint32Array };

/** A fully validated frame: its header and views over its (inflated) body. */
export interface ParsedFrame {
  header: FrameHeader;
  tensors: ParsedTensor[];
  /** Largest |value| any tensor can decode to (for overflow checks when weighting). */
  maxAbs: number;
}

function checkExpected(tensors: readonly FrameTensorEntry[], expect: readonly TensorSpec[]): void {
  if (tensors.length !== expect.length) {
    throw fedError('SHAPE_MISMATCH', `frame has ${tensors.length} tensors, expected ${expect.length}`);
  }
  for (let i = 0; i < expect.length; i++) {
    const got = tensors[i]!;
    const want = expect[i]!;
    if (got.name !== want.name || got.shape.length !== want.shape.length || got.shape.some((d, j) => d !== want.shape[j])) {
      throw fedError('SHAPE_MISMATCH', `tensor ${i} is ${got.name} [${got.shape.join(',')}], expected ${want.name} [${want.shape.join(',')}]`);
    }
  }
}

/**
 * max |x| over `values`, or NaN if any value is NaN or ±Infinity. A small sync function of its own so the JIT
 * compiles one tight loop (inside the async parser it ran several times slower).
 */
function finiteMaxAbs(values: Float32Array): number {
  let m = 0;
  let z = 0; // v - v is 0 for finite v, NaN for NaN and ±Infinity
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    z += v - v;
    const a = v < 0 ? -v : v;
    m = a > m ? a : m;
  }
  return z === 0 ? m : NaN;
}

/** Checks every scale is finite and in [0, max]; returns the largest magnitude the payload can decode to. */
function checkScales(name: string, scales: Float32Array, max = MAX_INT8_SCALE, qmax = 128): number {
  let m = 0;
  for (let b = 0; b < scales.length; b++) {
    const s = scales[b]!;
    // Negated test so NaN fails too.
    if (!(s >= 0 && s <= max)) {
      if (Number.isNaN(s) || !Number.isFinite(s)) throw fedError('NON_FINITE', `tensor ${name}: scale ${b} is ${s}`);
      bad(`tensor ${name}: scale ${b} is ${s}, outside [0, ${max}]`);
    }
    if (s > m) m = s;
  }
  return m * qmax;
}

/**
 * Validates a whole frame and returns views over its payloads; throws before anything is returned, so callers
 * can mutate state only after every check passed. A deflated body is inflated once, by `opts.compressor`.
 * @example
 * ```ts
 * const parsed = await parseFrame(frame, { expect: layout, compressor: nodeZlibCompressor });
 * const { sumSq } = parsedStats(parsed);
 * foldParsed(acc, parsed, weight);
 * ```
 */
export async function parseFrame(bytes: Uint8Array, opts: DecodeFrameOptions = {}): Promise<ParsedFrame> {
  const lim = resolveLimits(opts.limits);
  const header = readFrameHeader(bytes, lim);
  if (opts.expect) checkExpected(header.tensors, opts.expect);
  let body = bytes.subarray(header.bodyOffset);
  if (header.compressed) {
    const compressor = opts.compressor ?? fflateCompressor;
    try {
      body = await compressor.inflate(body, header.bodyBytes);
    } catch (e) {
      if (isFedError(e)) throw e;
      throw fedError('COMPRESSION', `inflate (${compressor.name}) failed: ${(e as Error)?.message ?? String(e)}`, undefined, e);
    }
    if (!(body instanceof Uint8Array)) bad(`compressor ${compressor.name} returned no bytes`, 'COMPRESSION');
  }
  return parseBody(header, body, lim);
}

/**
 * Validates an (inflated) body against its frame's header and returns views over it: padding zero, f32 values
 * finite, scales finite and in range, int4 padding nibble zero, top-k indices in range and increasing.
 * @example
 * ```ts
 * const header = readFrameHeader(frame, limits);
 * const parsed = parseBody(header, inflateRawSync(frame.subarray(header.bodyOffset), header.bodyBytes), limits);
 * ```
 */
export function parseBody(header: FrameHeader, inflated: Uint8Array, limits?: Partial<FrameLimits>): ParsedFrame {
  const lim = resolveLimits(limits);
  if (inflated.length !== header.bodyBytes) bad(`body inflates to ${inflated.length} bytes, header says ${header.bodyBytes}`);
  const body = aligned4(inflated);
  const tensors: ParsedTensor[] = [];
  let maxAbs = 0;
  let prevEnd = 0;
  for (const e of header.tensors) {
    for (let i = prevEnd; i < e.byteOffset; i++) if (body[i] !== 0) bad(`padding before tensor ${e.name} is not zero`);
    prevEnd = e.byteOffset + e.byteLength;
    const n = entryElements(e, lim.maxElements);
    const off = e.byteOffset;
    if (e.encoding === 'f32') {
      const values = readF32(body, off, n);
      const m = finiteMaxAbs(values);
      if (Number.isNaN(m)) {
        const i = values.findIndex((v) => !Number.isFinite(v));
        throw fedError('NON_FINITE', `tensor ${e.name}: value ${i} is ${values[i]}`);
      }
      if (m > maxAbs) maxAbs = m;
      tensors.push({ encoding: 'f32', name: e.name, shape: e.shape, n, values });
    } else if (e.encoding === 'int8' || e.encoding === 'int4') {
      const nb = blockCount(n, e.blockSize);
      const scales = readF32(body, off, nb);
      const int4 = e.encoding === 'int4';
      const m = int4 ? checkScales(e.name, scales, MAX_INT4_SCALE, 8) : checkScales(e.name, scales);
      if (m > maxAbs) maxAbs = m;
      const start = body.byteOffset + off + 4 * nb;
      if (int4) {
        const packed = new Uint8Array(body.buffer, start, int4Bytes(n));
        // Canonical: an odd count leaves the last high nibble zero.
        if (n % 2 === 1 && (packed[packed.length - 1]! & 0xf0) !== 0) bad(`tensor ${e.name}: int4 padding nibble is not zero`);
        tensors.push({ encoding: 'int4', name: e.name, shape: e.shape, n, blockSize: e.blockSize, scales, packed });
      } else {
        tensors.push({ encoding: 'int8', name: e.name, shape: e.shape, n, blockSize: e.blockSize, scales, q: new Int8Array(body.buffer, start, n) });
      }
    } else {
      const k = e.k;
      const nb = blockCount(k, e.blockSize);
      const scales = readF32(body, off, nb);
      const m = checkScales(e.name, scales);
      if (m > maxAbs) maxAbs = m;
      const q = new Int8Array(body.buffer, body.byteOffset + off + 4 * nb, k);
      const indices = new Uint32Array(k);
      readIndexGaps(body, off + 4 * nb + k, off + e.byteLength, k, n, indices);
      tensors.push({ encoding: 'topk', name: e.name, shape: e.shape, n, k, blockSize: e.blockSize, scales, q, indices });
    }
  }
  return { header, tensors, maxAbs };
}

/**
 * A frame's tensor names and shapes against `expect`, exactly and in order (else `SHAPE_MISMATCH`): what
 * `parseFrame`'s `expect` checks, for a frame parsed without it.
 * @example
 * ```ts
 * checkFrameLayout(readFrameHeader(frame), layout);
 * ```
 */
export function checkFrameLayout(header: FrameHeader, expect: readonly TensorSpec[]): void {
  checkExpected(header.tensors, expect);
}
