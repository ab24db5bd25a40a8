import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { parseIdx, readIdxGz } from './idx.js';

const dir = mkdtempSync(join(tmpdir(), 'fedweb-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX header (big-endian) for unsigned bytes of `shape`, then `body`. */
function idx(shape: number[], body: number[], type = 0x08): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(head.buffer);
  head.set([0, 0, type, shape.length]);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return Uint8Array.from([...head, ...body]);
}

function fedErr(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    expect(isFedError(e), String(e)).toBe(true);
    return e as { code: string; message: string };
  }
  throw new Error('expected a FedError');
}

describe('IDX reader', () => {
  it('reads the big-endian header and the body (a 2 x 2 x 3 image array, 2 labels)', () => {
    const images = parseIdx(idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]));
    expect(images.shape).toEqual([2, 2, 3]);
    expect(Array.from(images.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    // Sizes above 255 use all four bytes.
    expect(parseIdx(idx([300], new Array(300).fill(7))).shape).toEqual([300]);
  });

  it('reads a gzip file through node:zlib (Debian ships them .gz)', () => {
    const file = join(dir, 'labels-idx1-ubyte.gz');
    writeFileSync(file, gzipSync(idx([3], [9, 0, 4])));
    expect(Array.from(readIdxGz(file).data)).toEqual([9, 0, 4]);
  });

  it('refuses a bad magic, another element type, a truncated header or body, extra bytes: BAD_FRAME', () => {
    expect(fedErr(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]))).message).toMatch(/magic/);
    expect(fedErr(() => parseIdx(idx([1], [0, 0, 0, 0], 0x0d))).message).toMatch(/element type 0xd/);
    expect(fedErr(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0]))).message).toMatch(/truncated header/);
    const truncated = fedErr(() => parseIdx(idx([2, 28, 28], new Array(1000).fill(0))));
    expect(truncated.code).toBe('BAD_FRAME');
    expect(truncated.message).toMatch(/truncated/);
    expect(fedErr(() => parseIdx(idx([2], [1, 2, 3]))).message).toMatch(/body is 3 bytes, the header \[2\] says 2/);
    expect(fedErr(() => parseIdx(Uint8Array.from([0, 0]))).code).toBe('BAD_FRAME');
  });

  it('a truncated gzip stream is BAD_FRAME, a missing file NOT_FOUND', () => {
    const file = join(dir, 'cut.gz');
    const gz = gzipSync(idx([100], new Array(100).fill(3)));
    writeFileSync(file, gz.subarray(0, gz.length - 10));
    expect(fedErr(() => readIdxGz(file)).code).toBe('BAD_FRAME');
    expect(fedErr(() => readIdxGz(join(dir, 'nope.gz'))).code).toBe('NOT_FOUND');
  });
});
