/**
 * Chunking: a frame larger than one WebSocket message travels as numbered binary chunks, each with a small
 * header, announced beforehand by a control message (`update` / `round.partial`: uploadId, byteLength,
 * chunkCount, sha256).
 *
 * ```
 * offset  size  field
 * 0       4     magic "FWC1" (46 57 43 31)
 * 4       1     chunk format version (1)
 * 5       1     L = uploadId length in bytes (1..128, ASCII [A-Za-z0-9._:@-])
 * 6       2     reserved, 0
 * 8       4     seq (u32 LE), 0-based
 * 12      4     count (u32 LE) = ceil(totalBytes / chunkSize)
 * 16      4     totalBytes of the frame (u32 LE)
 * 20      4     chunkSize (u32 LE): payload bytes of every chunk but the last
 * 24      L     uploadId
 * 24+L    ...   payload: frame bytes [seq * chunkSize, min((seq+1) * chunkSize, totalBytes))
 * ```
 */
import { fedError } from './errors.js';

export const CHUNK_MAGIC = 'FWC1';
export const CHUNK_VERSION = 1;
/** Default payload bytes per chunk (1 MiB). */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Default frame size an assembler accepts (512 MiB, as `FrameLimits.maxFrameBytes`). */
export const DEFAULT_MAX_FRAME_BYTES = 512 * 1024 * 1024;
/** Default reorder window: a chunk may arrive at most this many places ahead of the first missing one. */
export const DEFAULT_CHUNK_WINDOW = 16;
const HEADER = 24;
const MAGIC = [0x46, 0x57, 0x43, 0x31];
const ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

/** A parsed chunk. `payload` is a view into the chunk bytes. */
export interface Chunk {
  uploadId: string;
  seq: number;
  count: number;
  totalBytes: number;
  chunkSize: number;
  payload: Uint8Array;
}

function badChunk(message: string): never {
  throw fedError('BAD_CHUNK', message);
}

/**
 * Splits a frame into chunk messages (one binary WebSocket message each).
 * @example
 * ```ts
 * for (const c of splitIntoChunks(frame, { uploadId })) ws.send(c);
 * ```
 */
export function splitIntoChunks(frame: Uint8Array, opts: { uploadId: string; chunkSize?: number }): Uint8Array[] {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!ID_RE.test(opts.uploadId)) throw fedError('BAD_CONFIG', `uploadId must be 1..128 characters of [A-Za-z0-9._:@-]`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 0xffffffff) throw fedError('BAD_CONFIG', `chunkSize must be a positive integer, got ${chunkSize}`);
  if (frame.length < 1 || frame.length > 0xffffffff) throw fedError('BAD_CONFIG', `cannot chunk a frame of ${frame.length} bytes`);
  const id = new Uint8Array(opts.uploadId.length);
  for (let i = 0; i < id.length; i++) id[i] = opts.uploadId.charCodeAt(i);
  const count = Math.ceil(frame.length / chunkSize);
  const out: Uint8Array[] = [];
  for (let seq = 0; seq < count; seq++) {
    const payload = frame.subarray(seq * chunkSize, Math.min((seq + 1) * chunkSize, frame.length));
    const c = new Uint8Array(HEADER + id.length + payload.length);
    const dv = new DataView(c.buffer);
    c.set(MAGIC, 0);
    dv.setUint8(4, CHUNK_VERSION);
    dv.setUint8(5, id.length);
    dv.setUint32(8, seq, true);
    dv.setUint32(12, count, true);
    dv.setUint32(16, frame.length, true);
    dv.setUint32(20, chunkSize, true);
    c.set(id, HEADER);
    c.set(payload, HEADER + id.length);
    out.push(c);
  }
  return out;
}

/**
 * Parses and checks one chunk on its own (header fields consistent, payload length right for its seq).
 * Throws `BAD_CHUNK` or `VERSION_MISMATCH`.
 * @example
 * ```ts
 * const { uploadId, seq, count } = parseChunk(new Uint8Array(data));
 * ```
 */
export function parseChunk(bytes: Uint8Array): Chunk {
  if (!(bytes instanceof Uint8Array)) badChunk('a chunk must be a Uint8Array');
  if (bytes.length < HEADER) badChunk(`chunk of ${bytes.length} bytes is shorter than its header`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) badChunk('not a fedweb chunk (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  const version = dv.getUint8(4);
  if (version !== CHUNK_VERSION) throw fedError('VERSION_MISMATCH', `chunk format version ${version}, this peer reads ${CHUNK_VERSION}`);
  const idLen = dv.getUint8(5);
  if (dv.getUint16(6, true) !== 0) badChunk('reserved chunk header bytes are not zero');
  const seq = dv.getUint32(8, true);
  const count = dv.getUint32(12, true);
  const totalBytes = dv.getUint32(16, true);
  const chunkSize = dv.getUint32(20, true);
  if (idLen < 1 || idLen > 128 || HEADER + idLen > bytes.length) badChunk(`bad uploadId length ${idLen}`);
  let uploadId = '';
  for (let i = 0; i < idLen; i++) uploadId += String.fromCharCode(bytes[HEADER + i]!);
  if (!ID_RE.test(uploadId)) badChunk('uploadId has characters outside [A-Za-z0-9._:@-]');
  if (totalBytes < 1 || chunkSize < 1) badChunk('chunk declares an empty frame or chunk size');
  if (count !== Math.ceil(totalBytes / chunkSize)) badChunk(`count ${count} does not match ${totalBytes} bytes in chunks of ${chunkSize}`);
  if (seq >= count) badChunk(`chunk ${seq} of ${count} is out of range`);
  const payload = bytes.subarray(HEADER + idLen);
  const expected = seq === count - 1 ? totalBytes - seq * chunkSize : chunkSize;
  if (payload.length !== expected) badChunk(`chunk ${seq} carries ${payload.length} bytes, expected ${expected}`);
  return { uploadId, seq, count, totalBytes, chunkSize, payload };
}

export interface ChunkAssemblerOptions {
  uploadId: string;
  /** From the announcing message. */
  chunkCount: number;
  /** From the announcing message (`byteLength`). */
  totalBytes: number;
  /** Largest frame accepted (default 512 MiB); larger announcements fail with `FRAME_TOO_LARGE`. */
  maxBytes?: number;
  /** Reorder window (default 16). */
  window?: number;
}

/**
 * Reassembles one upload's chunks into the frame, in bounded memory (exactly `totalBytes`). Rejects
 * foreign, duplicate, inconsistent or too-far-ahead chunks with `BAD_CHUNK`; after a throw, discard the
 * assembler. Call `missing()` when the upload times out to say which chunks never came.
 *
 * @example
 * ```ts
 * const asm = new ChunkAssembler({ uploadId: msg.uploadId, chunkCount: msg.chunkCount, totalBytes: msg.byteLength, maxBytes });
 * socket.on('message', (data, isBinary) => { if (isBinary) { const frame = asm.push(data); if (frame) void handle(frame); } });
 * ```
 */
export class ChunkAssembler {
  readonly uploadId: string;
  readonly chunkCount: number;
  readonly totalBytes: number;
  private readonly window: number;
  private readonly buffer: Uint8Array;
  private readonly got: Uint8Array;
  private chunkSize = 0;
  private received = 0;
  private firstMissing = 0;

  constructor(opts: ChunkAssemblerOptions) {
    const max = opts.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.window = opts.window ?? DEFAULT_CHUNK_WINDOW;
    if (!ID_RE.test(opts.uploadId)) badChunk('uploadId must be 1..128 characters of [A-Za-z0-9._:@-]');
    if (!Number.isSafeInteger(opts.totalBytes) || opts.totalBytes < 1) badChunk(`totalBytes must be a positive integer, got ${opts.totalBytes}`);
    if (opts.totalBytes > max) throw fedError('FRAME_TOO_LARGE', `upload of ${opts.totalBytes} bytes exceeds the limit of ${max}`);
    if (!Number.isSafeInteger(opts.chunkCount) || opts.chunkCount < 1 || opts.chunkCount > opts.totalBytes) {
      badChunk(`chunkCount ${opts.chunkCount} is impossible for ${opts.totalBytes} bytes`);
    }
    if (!Number.isInteger(this.window) || this.window < 1) throw fedError('BAD_CONFIG', 'window must be a positive integer');
    this.uploadId = opts.uploadId;
    this.chunkCount = opts.chunkCount;
    this.totalBytes = opts.totalBytes;
    this.buffer = new Uint8Array(opts.totalBytes);
    this.got = new Uint8Array(opts.chunkCount);
  }

  /** True once every chunk arrived. */
  get complete(): boolean {
    return this.received === this.chunkCount;
  }

  /**
   * Adds a chunk; returns the whole frame when it was the last one, else `null`.
   * Throws `BAD_CHUNK` (foreign upload, inconsistent header, duplicate, beyond the window, already complete)
   * or `VERSION_MISMATCH`.
   */
  push(bytes: Uint8Array): Uint8Array | null {
    const c = parseChunk(bytes);
    if (this.complete) badChunk(`upload ${this.uploadId} is already complete`);
    if (c.uploadId !== this.uploadId) badChunk(`chunk for upload ${c.uploadId}, expected ${this.uploadId}`);
    if (c.count !== this.chunkCount || c.totalBytes !== this.totalBytes) {
      badChunk(`chunk says ${c.count} chunks / ${c.totalBytes} bytes, the upload announced ${this.chunkCount} / ${this.totalBytes}`);
    }
    if (this.chunkSize === 0) this.chunkSize = c.chunkSize;
    else if (c.chunkSize !== this.chunkSize) badChunk(`chunk size changed from ${this.chunkSize} to ${c.chunkSize}`);
    if (this.got[c.seq]) badChunk(`duplicate chunk ${c.seq}`);
    if (c.seq >= this.firstMissing + this.window) {
      badChunk(`chunk ${c.seq} arrived while chunk ${this.firstMissing} is missing (window ${this.window})`);
    }
    this.buffer.set(c.payload, c.seq * this.chunkSize);
    this.got[c.seq] = 1;
    this.received++;
    while (this.firstMissing < this.chunkCount && this.got[this.firstMissing]) this.firstMissing++;
    return this.complete ? this.buffer : null;
  }

  /** Sequence numbers not received yet (for a timeout error message). */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.chunkCount; i++) if (!this.got[i]) out.push(i);
    return out;
  }
}
