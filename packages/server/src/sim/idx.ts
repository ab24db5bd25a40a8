/**
 * The IDX file format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian
 * header — two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions d — then d big-endian u32
 * sizes, then the data. Files ship gzip-compressed; they are inflated with node:zlib (never by hand).
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { fedError } from '@fedweb/codec';

export interface IdxArray {
  /** Sizes of the dimensions, e.g. [60000, 28, 28] for images, [60000] for labels. */
  shape: number[];
  /** The unsigned bytes, row-major. */
  data: Uint8Array;
}

/** The only element type the MNIST-family files use. */
const UBYTE = 0x08;

/**
 * Parses an (uncompressed) IDX body of unsigned bytes. Throws FedError `BAD_FRAME` saying what is wrong: bad magic,
 * another element type, a body shorter or longer than the header says.
 * @example
 * ```ts
 * const { shape, data } = parseIdx(gunzipSync(readFileSync('t10k-labels-idx1-ubyte.gz'))); // shape [10000]
 * ```
 */
export function parseIdx(bytes: Uint8Array, what = 'IDX file'): IdxArray {
  if (bytes.length < 4) throw fedError('BAD_FRAME', `${what}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw fedError('BAD_FRAME', `${what}: not an IDX file (magic ${bytes[0]}, ${bytes[1]} instead of 0, 0)`);
  if (bytes[2] !== UBYTE) throw fedError('BAD_FRAME', `${what}: element type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const dims = bytes[3]!;
  if (dims < 1 || dims > 4) throw fedError('BAD_FRAME', `${what}: ${dims} dimensions (expected 1..4)`);
  const start = 4 + 4 * dims;
  if (bytes.length < start) throw fedError('BAD_FRAME', `${what}: truncated header (${bytes.length} bytes, ${dims} dimensions need ${start})`);
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== start + size) {
    throw fedError('BAD_FRAME', `${what}: body is ${bytes.length - start} bytes, the header [${shape.join(', ')}] says ${size}${bytes.length < start + size ? ' (truncated)' : ''}`);
  }
  return { shape, data: bytes.subarray(start) };
}

/**
 * Reads and inflates a `.gz` IDX file. A missing file is `NOT_FOUND`, a corrupt gzip stream or IDX body `BAD_FRAME`.
 * @example
 * ```ts
 * const labels = readIdxGz('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz');
 * ```
 */
export function readIdxGz(path: string): IdxArray {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw fedError('NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`);
  }
  let body: Buffer;
  try {
    body = gunzipSync(raw);
  } catch (e) {
    throw fedError('BAD_FRAME', `${path}: not a valid gzip stream (${(e as Error).message})`);
  }
  return parseIdx(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), path);
}
