/**
 * `@fedweb/codec/node`: the Node-only compressor (native zlib, run on libuv's thread pool). Kept out of the
 * pure entry point so browsers never see `node:zlib`.
 */
import { deflateRaw, inflateRaw, type InputType, type ZlibOptions } from 'node:zlib';
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
      out = await run(inflateRaw, data, { maxOutputLength: Math.max(1, maxOutputBytes) });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw fedError('FRAME_TOO_LARGE', `inflated body exceeds ${maxOutputBytes} bytes`, undefined, e);
      throw fedError('COMPRESSION', `inflate (node:zlib) failed: ${(e as Error).message}`, undefined, e);
    }
    if (out.length > maxOutputBytes) throw fedError('FRAME_TOO_LARGE', `inflated body exceeds ${maxOutputBytes} bytes`);
    return plain(out);
  },
};
