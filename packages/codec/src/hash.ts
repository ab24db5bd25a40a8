/** SHA-256 via WebCrypto (`globalThis.crypto.subtle`: browsers in secure contexts, workers, Node >= 20). */
import { fedError } from './errors.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Lowercase hex SHA-256 of `bytes`. Throws `UNAVAILABLE` where WebCrypto is missing (an insecure http:// page).
 * @example
 * ```ts
 * const sha256 = await sha256Hex(frame); // announced in the `update` message, checked by the combiner
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw fedError('UNAVAILABLE', 'WebCrypto (crypto.subtle) is not available: serve the page over https or localhost');
  // digest() refuses views over a SharedArrayBuffer: copy those.
  const input = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  const digest = new Uint8Array(await subtle.digest('SHA-256', input));
  let s = '';
  for (let i = 0; i < digest.length; i++) s += HEX[digest[i]!]!;
  return s;
}
