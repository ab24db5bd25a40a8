/**
 * Update bytes on their way to a fold: chunk reassembly per client socket (bounded by the announced size), the
 * combiner's in-flight budget (`maxInflightBytes`: an announced size is charged to it before its buffer is
 * allocated, and stays charged until the fold is done; an announcement that does not fit is refused) and the
 * fold slots that bound how many folds run at once. The frame's SHA-256 is computed while it arrives, chunk by
 * chunk in order (a chunk ahead of a missing one waits, within the assembler's window), so no second pass over
 * the whole frame is needed when its last chunk lands.
 * It checks the chunk plan and the bytes, never what the update means: that is {@link ./admission.ts}.
 */
import { createHash, type Hash } from 'node:crypto';
import { ChunkAssembler, fedError, parseChunk, toFedError, type FedError, type MessageOf } from '@fedweb/codec';
import type { ClientConn } from './clients.js';

interface Upload {
  msg: MessageOf<'update'>;
  assembler: ChunkAssembler;
  bytes: number;
  hash: Hash;
  /** Chunks hashed so far (0..hashed-1), and payloads received ahead of them. */
  hashed: number;
  ahead: Map<number, Uint8Array>;
}

/** What one binary message did to the upload of its socket. */
export type ChunkResult =
  | { kind: 'more' }
  /**
   * The last chunk: the whole frame and its SHA-256 (hex, hashed as it arrived); `held` bytes stay counted until
   * {@link UploadBuffer.release}.
   */
  | { kind: 'frame'; msg: MessageOf<'update'>; frame: Uint8Array; sha256: string; held: number }
  /** A bad chunk (the upload is dropped); `msg` is the update it was for, if one was announced. */
  | { kind: 'bad'; msg: MessageOf<'update'> | null; err: FedError };

/**
 * Chunk assembly and the in-flight budget for every client socket of a combiner.
 * @example
 * ```ts
 * const uploads = new UploadBuffer(256 * 1024 * 1024);
 * uploads.begin(conn, updateMsg, maxUploadBytes);
 * const r = uploads.push(conn, bytes);
 * if (r.kind === 'frame') void fold(r.frame).finally(() => uploads.release(conn, r.held));
 * ```
 */
export class UploadBuffer {
  private readonly uploads = new Map<ClientConn, Upload>();
  /** Bytes charged to each socket: announced uploads and frames waiting to fold. */
  private readonly held = new Map<ClientConn, number>();
  private inflight = 0;

  constructor(private readonly maxInflightBytes: number) {}

  /** Update bytes announced (charged) and not folded yet, over all sockets. */
  get inflightBytes(): number {
    return this.inflight;
  }

  /**
   * Starts receiving the chunks of an announced update, replacing any upload in progress on `conn`. Its
   * announced size is charged to the in-flight budget before its buffer is allocated. Throws a `FedError`:
   * FRAME_TOO_LARGE when it is larger than the whole budget, UNAVAILABLE (retryable) when it does not fit in
   * what other uploads leave of it, BAD_MESSAGE when the chunk plan is invalid. The per-update size limit
   * derived from the model is checked by the caller.
   */
  begin(conn: ClientConn, msg: MessageOf<'update'>, maxBytes: number): void {
    this.drop(conn);
    const n = msg.byteLength;
    const budget = this.maxInflightBytes;
    if (n > budget) throw fedError('FRAME_TOO_LARGE', `update is ${n} bytes, more than this combiner's in-flight budget of ${budget}`);
    if (this.inflight > 0 && this.inflight + n > budget) {
      throw fedError('UNAVAILABLE', `this combiner holds ${this.inflight} of its ${budget} in-flight update bytes; send the update again later`);
    }
    let assembler: ChunkAssembler;
    try {
      assembler = new ChunkAssembler({ uploadId: msg.uploadId, chunkCount: msg.chunkCount, totalBytes: n, maxBytes });
    } catch (e) {
      throw toFedError(e, 'BAD_MESSAGE');
    }
    this.hold(conn, n);
    this.uploads.set(conn, { msg, assembler, bytes: n, hash: createHash('sha256'), hashed: 0, ahead: new Map() });
  }

  /** Adds one binary message to the upload of `conn`. */
  push(conn: ClientConn, bytes: Uint8Array): ChunkResult {
    const upload = this.uploads.get(conn);
    if (!upload) return { kind: 'bad', msg: null, err: fedError('BAD_CHUNK', 'binary data without an announced update') };
    let frame: Uint8Array | null;
    try {
      const chunk = parseChunk(bytes);
      if (chunk.uploadId !== upload.msg.uploadId) {
        throw fedError('BAD_CHUNK', `chunk for upload ${chunk.uploadId}, expected ${upload.msg.uploadId}`);
      }
      frame = upload.assembler.push(bytes);
      hashInOrder(upload, chunk.seq, chunk.payload);
    } catch (e) {
      this.drop(conn);
      return { kind: 'bad', msg: upload.msg, err: toFedError(e, 'BAD_CHUNK') };
    }
    if (!frame) return { kind: 'more' };
    // The charged bytes move from the upload to the frame; released when the fold is done.
    this.uploads.delete(conn);
    return { kind: 'frame', msg: upload.msg, frame, sha256: upload.hash.digest('hex'), held: upload.bytes };
  }

  /** Drops the upload in progress on `conn` (a reconnect, a refusal, a closed socket). */
  drop(conn: ClientConn): void {
    const upload = this.uploads.get(conn);
    if (!upload) return;
    this.uploads.delete(conn);
    this.release(conn, upload.bytes);
  }

  /** The socket is gone: its upload is dropped. */
  forget(conn: ClientConn): void {
    this.drop(conn);
  }

  private hold(conn: ClientConn, bytes: number): void {
    this.held.set(conn, (this.held.get(conn) ?? 0) + bytes);
    this.inflight += bytes;
  }

  /** `bytes` charged to `conn` were folded or dropped. */
  release(conn: ClientConn, bytes: number): void {
    const heldNow = this.held.get(conn) ?? 0;
    const n = Math.min(bytes, heldNow);
    if (heldNow - n > 0) this.held.set(conn, heldNow - n);
    else this.held.delete(conn);
    this.inflight = Math.max(0, this.inflight - n);
  }
}

/** Feeds chunk `seq` to the upload's hash once every chunk before it was; later ones wait in `ahead` (bounded by the window). */
function hashInOrder(upload: Upload, seq: number, payload: Uint8Array): void {
  if (seq !== upload.hashed) {
    upload.ahead.set(seq, payload);
    return;
  }
  upload.hash.update(payload);
  upload.hashed++;
  for (let next = upload.ahead.get(upload.hashed); next; next = upload.ahead.get(upload.hashed)) {
    upload.ahead.delete(upload.hashed);
    upload.hash.update(next);
    upload.hashed++;
  }
}

/**
 * Bounds the folds running at once; waiters are served first come, first served.
 * @example
 * ```ts
 * await slots.acquire();
 * try { await fold(); } finally { slots.release(); }
 * ```
 */
export class FoldSlots {
  private readonly queue: Array<() => void> = [];

  constructor(private free: number) {}

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free += 1;
  }
}
