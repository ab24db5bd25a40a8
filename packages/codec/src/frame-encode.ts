/**
 * Writes tensor frames (the layout is described in `frame-header.ts`): validates names, shapes and values,
 * quantizes (`int8`, `int4`, `topk`), lays the payloads out canonically and optionally deflates the body.
 */
import { fedError } from './errors.js';
import { alignUp, f32Writer, textEncoder, writeF32 } from './bytes.js';
import { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, blockCount, quantizeInt8, type Rounding } from './quantize.js';
import { int4Bytes, quantizeInt4 } from './quantize-int4.js';
import { createRng, type Rng } from './prng.js';
import { indexGapsLength, selectTopK, writeIndexGaps } from './topk.js';
import { FLAG_DEFLATE, FRAME_HEADER_BYTES, FRAME_MAGIC, FRAME_VERSION, MAX_MANIFEST_BYTES, MAX_NAME_LENGTH, MAX_RANK, type FrameTensorEntry } from './frame-header.js';
import type { Compressor, Encoding, NamedTensor } from './types.js';

const MAGIC_BYTES = textEncoder.encode(FRAME_MAGIC);

export interface EncodeFrameOptions {
  /** Default `f32` (exact). */
  encoding?: Encoding;
  /** int8/int4/topk values per scale, default 256. */
  blockSize?: number;
  /**
   * int8/int4 rounding: `nearest` (default; |error| <= scale/2) or `stochastic` (unbiased, |error| < scale;
   * see `quantize.ts`). Stochastic draws come from `rng`, or a generator seeded with `seed`.
   */
  rounding?: Rounding;
  /** The uniform draws of stochastic rounding (a seeded `createRng` makes a frame reproducible). */
  rng?: Rng;
  /** Seed for stochastic rounding when no `rng` is given (default: a fresh random seed). */
  seed?: number;
  /** Fraction of each tensor's entries kept by `topk` (default 0.1): k = max(1, round(n * fraction)). */
  topkFraction?: number;
  /** Deflate the body with this compressor; none = stored uncompressed. */
  compressor?: Compressor;
}

/**
 * Encodes named float32 tensors into a frame. `f32` round-trips exactly; `int8` and `topk` are lossy
 * (see `quantize.ts`, `topk.ts`). Throws `NON_FINITE` on NaN/Infinity, `SHAPE_MISMATCH` when a tensor's data
 * does not match its shape, `BAD_CONFIG` on bad names or options.
 *
 * @example
 * ```ts
 * const frame = await encodeFrame([{ name: 'w0', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
 *   { encoding: 'int8', compressor: fflateCompressor });
 * const [w0] = await decodeFrame(frame); // w0.data ≈ [1, 2, 3, 4] within scale/2
 * ```
 */
export async function encodeFrame(tensors: readonly NamedTensor[], opts: EncodeFrameOptions = {}): Promise<Uint8Array> {
  const encoding = opts.encoding ?? 'f32';
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const fraction = opts.topkFraction ?? 0.1;
  if (encoding !== 'f32' && encoding !== 'int8' && encoding !== 'int4' && encoding !== 'topk') throw fedError('BAD_CONFIG', `unknown encoding ${String(encoding)}`);
  const rounding = opts.rounding ?? 'nearest';
  if (rounding !== 'nearest' && rounding !== 'stochastic') throw fedError('BAD_CONFIG', `unknown rounding ${String(rounding)}`);
  // Not a secret: rounding noise only needs to be unbiased, so a seeded generator is enough.
  const rng = rounding === 'stochastic' ? (opts.rng ?? createRng(opts.seed ?? Math.floor(Math.random() * 2 ** 31))) : undefined;
  const roundOpts = rng ? { rounding, rng } : {};
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) throw fedError('BAD_CONFIG', `blockSize must be an integer in [1, ${MAX_BLOCK_SIZE}]`);
  if (!(fraction > 0 && fraction <= 1)) throw fedError('BAD_CONFIG', `topkFraction must be in (0, 1], got ${fraction}`);

  const names = new Set<string>();
  const entries: FrameTensorEntry[] = [];
  const selections: (ReturnType<typeof selectTopK> | undefined)[] = [];
  let end = 0;
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name.length < 1 || t.name.length > MAX_NAME_LENGTH) throw fedError('BAD_CONFIG', `tensor name must be 1..${MAX_NAME_LENGTH} characters`);
    if (names.has(t.name)) throw fedError('BAD_CONFIG', `duplicate tensor name ${t.name}`);
    names.add(t.name);
    if (!(t.data instanceof Float32Array)) throw fedError('BAD_CONFIG', `tensor ${t.name}: data must be a Float32Array`);
    if (t.shape.length > MAX_RANK) throw fedError('BAD_CONFIG', `tensor ${t.name}: rank ${t.shape.length} > ${MAX_RANK}`);
    let n = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0 || d > 2 ** 32) throw fedError('BAD_CONFIG', `tensor ${t.name}: invalid dimension ${d}`);
      n *= d;
    }
    if (n !== t.data.length) throw fedError('SHAPE_MISMATCH', `tensor ${t.name}: shape [${t.shape.join(',')}] needs ${n} values, data has ${t.data.length}`);
    const byteOffset = alignUp(end, 4);
    const base = { name: t.name, shape: [...t.shape], dtype: 'float32' as const };
    let entry: FrameTensorEntry;
    if (encoding === 'f32') {
      entry = { ...base, encoding, byteOffset, byteLength: 4 * n };
      selections.push(undefined);
    } else if (encoding === 'int8') {
      entry = { ...base, encoding, blockSize, byteOffset, byteLength: 4 * blockCount(n, blockSize) + n };
      selections.push(undefined);
    } else if (encoding === 'int4') {
      entry = { ...base, encoding, blockSize, byteOffset, byteLength: 4 * blockCount(n, blockSize) + int4Bytes(n) };
      selections.push(undefined);
    } else {
      const k = n === 0 ? 0 : Math.max(1, Math.min(n, Math.round(n * fraction)));
      const sel = selectTopK(t.data, k);
      selections.push(sel);
      entry = { ...base, encoding, blockSize, k, byteOffset, byteLength: 4 * blockCount(k, blockSize) + k + indexGapsLength(sel.indices) };
    }
    entries.push(entry);
    end = byteOffset + entry.byteLength;
  }
  if (end > 0xffffffff) throw fedError('FRAME_TOO_LARGE', `body of ${end} bytes does not fit a frame (4 GiB max)`);

  const body = new Uint8Array(end);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const data = tensors[i]!.data;
    if (e.encoding === 'f32') {
      let z = 0;
      for (let j = 0; j < data.length; j++) z += data[j]! * 0;
      if (z !== 0) throw fedError('NON_FINITE', `tensor ${e.name} holds NaN or Infinity`);
      writeF32(body, e.byteOffset, data);
    } else if (e.encoding === 'int4') {
      const nb = blockCount(data.length, e.blockSize);
      const scales = f32Writer(body, e.byteOffset, nb);
      quantizeInt4(data, e.blockSize, { scales: scales.view, packed: body.subarray(e.byteOffset + 4 * nb, e.byteOffset + e.byteLength) }, roundOpts);
      scales.flush();
    } else {
      const sel = selections[i];
      const values = sel ? sel.values : data;
      const nb = blockCount(values.length, e.blockSize!);
      const scales = f32Writer(body, e.byteOffset, nb);
      const q = new Int8Array(body.buffer, e.byteOffset + 4 * nb, values.length);
      // Top-k keeps round-to-nearest: its error feedback already carries what rounding loses to the next round.
      quantizeInt8(values, e.blockSize, { scales: scales.view, q }, sel ? {} : roundOpts);
      scales.flush();
      if (sel) writeIndexGaps(sel.indices, body, e.byteOffset + 4 * nb + values.length);
    }
  }

  // Canonical manifest: fixed key order, no whitespace.
  const manifest = textEncoder.encode(
    JSON.stringify({
      tensors: entries.map((e) => ({
        name: e.name,
        shape: e.shape,
        dtype: e.dtype,
        encoding: e.encoding,
        ...(e.encoding !== 'f32' ? { blockSize: e.blockSize } : {}),
        ...(e.encoding === 'topk' ? { k: e.k } : {}),
        byteOffset: e.byteOffset,
        byteLength: e.byteLength,
      })),
    }),
  );
  if (manifest.length > MAX_MANIFEST_BYTES) throw fedError('FRAME_TOO_LARGE', `manifest of ${manifest.length} bytes exceeds ${MAX_MANIFEST_BYTES}`);
  const stored = opts.compressor ? await opts.compressor.deflate(body) : body;
  const bodyOffset = alignUp(FRAME_HEADER_BYTES + manifest.length, 8);
  const frame = new Uint8Array(bodyOffset + stored.length);
  frame.set(MAGIC_BYTES, 0);
  const dv = new DataView(frame.buffer);
  dv.setUint8(4, FRAME_VERSION);
  dv.setUint8(5, opts.compressor ? FLAG_DEFLATE : 0);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, manifest.length, true);
  dv.setUint32(12, body.length, true);
  frame.set(manifest, FRAME_HEADER_BYTES);
  frame.set(stored, bodyOffset);
  return frame;
}
