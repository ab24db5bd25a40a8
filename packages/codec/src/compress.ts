/**
 * Raw deflate (RFC 1951) adapters. The codec takes a {@link Compressor} by injection so it stays pure:
 * `fflateCompressor` (portable, pure JS), `createCompressionStreamCompressor()` (the browser's native
 * `CompressionStream('deflate-raw')`), and `nodeZlibCompressor` in `@fedweb/codec/node` (the server's hot path).
 * Every `inflate` stops with `FRAME_TOO_LARGE` as soon as its output would pass `maxOutputBytes`,
 * so a zip bomb costs at most a bounded amount of work and memory.
 */
import { Inflate, deflateSync } from 'fflate';
import { readStreamCapped } from './bytes.js';
import { fedError, isFedError } from './errors.js';
import type { Compressor } from './types.js';

/** Deflate level used by every adapter (zlib's default: a good ratio/speed point for int8 bodies). */
export const DEFLATE_LEVEL = 6;

/**
 * Deflate's best case is about 1032:1 (a 258-byte match in 2 bits), so no valid stream of `n` bytes inflates
 * to more than this. Frames declaring a larger body are refused before anything is allocated.
 */
export function maxInflatedSize(compressedBytes: number): number {
  return compressedBytes * 1032 + 1024;
}

/**
 * How much compressed input fflate's streaming inflater gets per push. One push can emit up to ~1032x its input,
 * so a bomb overshoots the cap by at most 1032 * slice bytes: about max(cap, 1 MiB) of work and memory. Larger
 * slices for larger caps keep the per-push overhead (a 32 KiB window copy) negligible.
 */
function fflateSlice(maxOutputBytes: number): number {
  return Math.min(64 * 1024, Math.max(1024, Math.floor(maxOutputBytes / 1032) + 1));
}

function tooLarge(max: number): never {
  throw fedError('FRAME_TOO_LARGE', `inflated body exceeds ${max} bytes`);
}

function asCompressionError(e: unknown, what: string): never {
  if (isFedError(e)) throw e;
  throw fedError('COMPRESSION', `${what} failed: ${e instanceof Error ? e.message : String(e)}`, undefined, e);
}

/**
 * Synchronous capped raw inflate with fflate (for synchronous paths). Throws `FRAME_TOO_LARGE` or `COMPRESSION`.
 * @example
 * ```ts
 * const body = inflateRawSync(deflated, 1 << 20);
 * ```
 */
export function inflateRawSync(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  const out = new Uint8Array(Math.min(maxOutputBytes, maxInflatedSize(data.length)));
  let pos = 0;
  let over = false;
  try {
    const inf = new Inflate((chunk: Uint8Array) => {
      if (over) return;
      if (pos + chunk.length > maxOutputBytes || pos + chunk.length > out.length) {
        over = true;
        return;
      }
      out.set(chunk, pos);
      pos += chunk.length;
    });
    const slice = fflateSlice(maxOutputBytes);
    if (data.length === 0) inf.push(data, true);
    for (let i = 0; i < data.length && !over; i += slice) inf.push(data.subarray(i, i + slice), i + slice >= data.length);
  } catch (e) {
    if (over) tooLarge(maxOutputBytes);
    asCompressionError(e, 'inflate (fflate)');
  }
  if (over) tooLarge(maxOutputBytes);
  return out.subarray(0, pos);
}

/**
 * Synchronous raw deflate with fflate.
 * @example
 * ```ts
 * const z = deflateRawSync(body);
 * ```
 */
export function deflateRawSync(data: Uint8Array): Uint8Array {
  try {
    return deflateSync(data, { level: DEFLATE_LEVEL });
  } catch (e) {
    return asCompressionError(e, 'deflate (fflate)');
  }
}

/**
 * The portable pure-JS compressor (fflate). Works in browsers, workers and Node.
 * @example
 * ```ts
 * const frame = await encodeFrame(tensors, { encoding: 'int8', compressor: fflateCompressor });
 * ```
 */
export const fflateCompressor: Compressor = {
  name: 'fflate',
  async deflate(data) {
    return deflateRawSync(data);
  },
  async inflate(data, maxOutputBytes) {
    return inflateRawSync(data, maxOutputBytes);
  },
};

async function pipeThrough(stream: CompressionStream | DecompressionStream, data: Uint8Array, max: number): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // The write side settles on its own; its rejection (corrupt input, or the reader cancelled) is reported by the read side.
  const written = writer.write(data as Uint8Array<ArrayBuffer>).then(() => writer.close());
  written.catch(() => undefined);
  const out = await readStreamCapped(stream.readable as ReadableStream<Uint8Array>, max, () => tooLarge(max));
  await written;
  return out;
}

/**
 * The browser-native compressor (`CompressionStream('deflate-raw')`), also present in Node >= 20.
 * Throws `UNAVAILABLE` where the platform lacks it (then use {@link fflateCompressor}).
 * @example
 * ```ts
 * const compressor = typeof CompressionStream !== 'undefined' ? createCompressionStreamCompressor() : fflateCompressor;
 * ```
 */
export function createCompressionStreamCompressor(): Compressor {
  if (typeof CompressionStream === 'undefined' || typeof DecompressionStream === 'undefined') {
    throw fedError('UNAVAILABLE', 'CompressionStream is not available on this platform');
  }
  try {
    new CompressionStream('deflate-raw');
  } catch (e) {
    throw fedError('UNAVAILABLE', `CompressionStream('deflate-raw') is not supported: ${(e as Error).message}`);
  }
  return {
    name: 'compression-stream',
    async deflate(data) {
      try {
        return await pipeThrough(new CompressionStream('deflate-raw'), data, Number.POSITIVE_INFINITY);
      } catch (e) {
        return asCompressionError(e, 'deflate (CompressionStream)');
      }
    },
    async inflate(data, maxOutputBytes) {
      try {
        return await pipeThrough(new DecompressionStream('deflate-raw'), data, maxOutputBytes);
      } catch (e) {
        return asCompressionError(e, 'inflate (DecompressionStream)');
      }
    },
  };
}
