/**
 * `@fedweb/codec/node`: the Node-only compressor (native zlib, run on libuv's thread pool). Kept out of the
 * pure entry point so browsers never see `node:zlib`.
 */
import { deflateRaw, inflateRaw, inflateRawSync, type InputType, type ZlibOptions } from 'node:zlib';
import { fedError } from './errors.js';
import { DEFLATE_LEVEL } from './compress.js';
import type { Compressor } from './types.js';

function run(fn: (buf: InputType, opts: ZlibOptions, cb: (err: Error | null, out: Buffer) => void) => void, data: Uint8Array, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    fn(data, opts, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** A plain Uint8Array view over a Buffer (no copy), so callers never see Buffer semantics. */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/**
 * zlib's output chunk for an inflate capped at `max` bytes: the whole body in one buffer (up to 64 MiB), so zlib
 * neither fills 16 KiB chunks nor concatenates them (a copy of the body and ~2x the time for a 1 MiB int8 body).
 * One byte more than `max` so that a stream filling it exactly does not start a second chunk.
 */
function chunkFor(max: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(64, max + 1));
}

function inflateError(e: unknown, max: number): never {
  const code = (e as { code?: unknown }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE') throw fedError('FRAME_TOO_LARGE', `inflated body exceeds ${max} bytes`, undefined, e);
  throw fedError('COMPRESSION', `inflate (node:zlib) failed: ${(e as Error).message}`, undefined, e);
}

/**
 * Synchronous capped raw inflate with native zlib, straight into one buffer of the body's size: for worker
 * threads, where blocking is the point. Throws `FRAME_TOO_LARGE` past `maxOutputBytes`, `COMPRESSION` on corrupt input.
 * @example
 * ```ts
 * const body = inflateRawNodeSync(deflated, header.bodyBytes);
 * ```
 */
export function inflateRawNodeSync(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  let out: Buffer;
  try {
    out = inflateRawSync(data, { maxOutputLength: Math.max(1, maxOutputBytes), chunkSize: chunkFor(maxOutputBytes) });
  } catch (e) {
    inflateError(e, maxOutputBytes);
  }
  if (out.length > maxOutputBytes) throw fedError('FRAME_TOO_LARGE', `inflated body exceeds ${maxOutputBytes} bytes`);
  return plain(out);
}

/**
 * Raw deflate via `node:zlib`. `inflate` uses zlib's `maxOutputLength`, so a zip bomb stops at the cap
 * with `FRAME_TOO_LARGE`; corrupt input gives `COMPRESSION`.
 * @example
 * ```ts
 * import { nodeZlibCompressor } from '@fedweb/codec/node';
 * await foldInto(acc, frame, numExamples, { layout, compressor: nodeZlibCompressor });
 * ```
 */
export const nodeZlibCompressor: Compressor = {
  name: 'node:zlib',
  async deflate(data) {
    try {
      return plain(await run(deflateRaw, data, { level: DEFLATE_LEVEL }));
    } catch (e) {
      throw fedError('COMPRESSION', `deflate (node:zlib) failed: ${(e as Error).message}`, undefined, e);
    }
  },
  async inflate(data, maxOutputBytes) {
    let out: Buffer;
    try {
      out = await run(inflateRaw, data, { maxOutputLength: Math.max(1, maxOutputBytes), chunkSize: chunkFor(maxOutputBytes) });
    } catch (e) {
      inflateError(e, maxOutputBytes);
    }
    if (out.length > maxOutputBytes) throw fedError('FRAME_TOO_LARGE', `inflated body exceeds ${maxOutputBytes} bytes`);
    return plain(out);
  },
};

/**
 * {@link nodeZlibCompressor} with a synchronous inflate ({@link inflateRawNodeSync}): for worker threads, where
 * the libuv pool hop buys nothing. Same errors and caps.
 * @example
 * ```ts
 * const parsed = await parseFrame(frame, { expect: layout, compressor: nodeZlibSyncCompressor });
 * ```
 */
export const nodeZlibSyncCompressor: Compressor = {
  name: 'node:zlib (sync inflate)',
  deflate: (data) => nodeZlibCompressor.deflate(data),
  async inflate(data, maxOutputBytes) {
    return inflateRawNodeSync(data, maxOutputBytes);
  },
};
