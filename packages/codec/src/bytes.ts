/**
 * Internal byte helpers shared by frames and chunks (not part of the public surface).
 * Every multi-byte number on the fedweb wire is little-endian.
 */

/** True on little-endian hosts (every browser and Node platform in practice); big-endian falls back to DataView. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Largest finite float32. */
export const F32_MAX = 3.4028234663852886e38;

/** Rounds `n` up to a multiple of `a` (a power of two). */
export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * A Float32Array over `n` little-endian floats at `bytes[off..]`: a zero-copy view when the host is
 * little-endian and the address is 4-aligned, otherwise a copy. The caller has checked the bounds.
 */
export function readF32(bytes: Uint8Array, off: number, n: number): Float32Array {
  const at = bytes.byteOffset + off;
  if (HOST_LITTLE_ENDIAN && at % 4 === 0) return new Float32Array(bytes.buffer, at, n);
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, at, n * 4);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** A writable Float32Array view for `n` floats at `bytes[off..]` (`off` 4-aligned, `bytes` fresh and aligned). */
export function f32Writer(bytes: Uint8Array, off: number, n: number): { view: Float32Array; flush(): void } {
  const at = bytes.byteOffset + off;
  if (HOST_LITTLE_ENDIAN && at % 4 === 0) return { view: new Float32Array(bytes.buffer, at, n), flush() {} };
  const view = new Float32Array(n);
  return {
    view,
    flush() {
      const dv = new DataView(bytes.buffer, at, n * 4);
      for (let i = 0; i < n; i++) dv.setFloat32(i * 4, view[i]!, true);
    },
  };
}

/** Copies `src` little-endian into `bytes` at `off`. */
export function writeF32(bytes: Uint8Array, off: number, src: Float32Array): void {
  if (HOST_LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), off);
    return;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, src.length * 4);
  for (let i = 0; i < src.length; i++) dv.setFloat32(i * 4, src[i]!, true);
}

/** Returns `bytes` itself when its start is 4-aligned, otherwise an aligned copy (so typed views can be made). */
export function aligned4(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
}

export const textEncoder = new TextEncoder();
/** Fatal: malformed UTF-8 throws (and the caller maps it to a typed error). */
export const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads a byte stream to the end, cancelling it and calling `tooLarge` (which throws) once it passes `max`
 * bytes; the reader's lock is released whichever way it ends.
 * @example
 * ```ts
 * const body = await readStreamCapped(res.body, 1 << 20, () => { throw fedError('FRAME_TOO_LARGE', 'body over 1 MiB'); });
 * ```
 */
export async function readStreamCapped(readable: ReadableStream<Uint8Array>, max: number, tooLarge: () => never): Promise<Uint8Array> {
  const reader = readable.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        tooLarge();
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
