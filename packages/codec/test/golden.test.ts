import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFrame, readFrameHeader } from '../src/frame.js';
import { encodeFrame } from '../src/frame-encode.js';
import { createCompressionStreamCompressor, fflateCompressor } from '../src/compress.js';
import { nodeZlibCompressor } from '../src/node.js';
import { ChunkAssembler, parseChunk, splitIntoChunks } from '../src/chunks.js';
import { goldenCases } from './golden-cases.js';

const golden = (file: string) => new Uint8Array(readFileSync(new URL(`./golden/${file}`, import.meta.url)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('golden frames', () => {
  for (const c of goldenCases) {
    it(`${c.name}: decodes to the stored values with every inflater, and re-encodes to the same bytes`, async () => {
      const bytes = golden(`${c.name}.bin`);
      const expected = JSON.parse(readFileSync(new URL(`./golden/${c.name}.json`, import.meta.url), 'utf8')) as { name: string; shape: number[]; data: number[] }[];
      for (const compressor of [fflateCompressor, nodeZlibCompressor, createCompressionStreamCompressor()]) {
        const decoded = await decodeFrame(bytes, { compressor });
        expect(decoded.map((t) => ({ name: t.name, shape: t.shape, data: Array.from(t.data) }))).toEqual(expected);
      }
      const again = await encodeFrame(c.tensors, {
        encoding: c.encoding,
        blockSize: c.blockSize,
        topkFraction: c.topkFraction,
        compressor: c.deflate ? fflateCompressor : undefined,
      });
      expect(hex(again)).toBe(hex(bytes));
    });
  }

  it('the top-k golden frame has the documented body, byte by byte', () => {
    const bytes = golden('topk.bin');
    const h = readFrameHeader(bytes);
    expect(h.tensors).toEqual([{ name: 'g', shape: [20], dtype: 'float32', encoding: 'topk', blockSize: 256, k: 4, byteOffset: 0, byteLength: 12 }]);
    const body = bytes.subarray(h.bodyOffset);
    // scale = fround(9/127); q = round([-9, 8, 7, 6.5] / scale) = [-127, 113, 99, 92]; index gaps [1, 3, 0, 12]
    expect(new DataView(body.buffer, body.byteOffset).getFloat32(0, true)).toBe(Math.fround(9 / 127));
    expect(Array.from(new Int8Array(body.buffer, body.byteOffset + 4, 4))).toEqual([-127, 113, 99, 92]);
    expect(Array.from(body.subarray(8))).toEqual([1, 3, 0, 12]);
  });

  it('the int8 golden frame rounds ties away from zero', async () => {
    const [x] = await decodeFrame(golden('int8-blocks.bin'));
    const s = Math.fround(1.27 / 127);
    expect(x!.data[1]).toBe(Math.fround(-64 * s));
  });

  it('golden chunks reassemble to the f32 golden frame, and splitting gives the same chunks', () => {
    const frame = golden('f32-two-tensors.bin');
    const chunks = Array.from({ length: 5 }, (_, i) => golden(`chunks-${i}.bin`));
    expect(parseChunk(chunks[0]!)).toMatchObject({ uploadId: 'golden-1', seq: 0, count: 5, totalBytes: frame.length, chunkSize: 64 });
    const asm = new ChunkAssembler({ uploadId: 'golden-1', chunkCount: 5, totalBytes: frame.length });
    let out: Uint8Array | null = null;
    for (const c of chunks) out = asm.push(c);
    expect(hex(out!)).toBe(hex(frame));
    expect(splitIntoChunks(frame, { uploadId: 'golden-1', chunkSize: 64 }).map(hex)).toEqual(chunks.map(hex));
  });
});
