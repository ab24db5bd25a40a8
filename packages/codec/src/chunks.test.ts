import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkAssembler, parseChunk, splitIntoChunks } from './chunks.js';

const frame = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
const make = (extra: Partial<ConstructorParameters<typeof ChunkAssembler>[0]> = {}) =>
  new ChunkAssembler({ uploadId: 'u-1', chunkCount: 4, totalBytes: 1000, ...extra });

describe('chunks', () => {
  it('splits into numbered chunks and reassembles in order', () => {
    const chunks = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 300 });
    expect(chunks.length).toBe(4);
    expect(parseChunk(chunks[3]!)).toMatchObject({ uploadId: 'u-1', seq: 3, count: 4, totalBytes: 1000, chunkSize: 300 });
    expect(parseChunk(chunks[3]!).payload.length).toBe(100);
    const asm = make();
    expect(asm.push(chunks[0]!)).toBeNull();
    expect(asm.push(chunks[1]!)).toBeNull();
    expect(asm.push(chunks[2]!)).toBeNull();
    expect(asm.push(chunks[3]!)).toEqual(frame);
  });

  it('accepts reordering inside the window', () => {
    const chunks = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 300 });
    const asm = make({ window: 4 });
    for (const i of [2, 0, 3]) expect(asm.push(chunks[i]!)).toBeNull();
    expect(asm.missing()).toEqual([1]);
    expect(asm.push(chunks[1]!)).toEqual(frame);
  });

  it('rejects duplicates, reordering beyond the window, foreign uploads and oversize', () => {
    const chunks = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 300 });
    const dup = make();
    dup.push(chunks[0]!);
    expect(() => dup.push(chunks[0]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK' }));
    const far = make({ window: 2 });
    expect(() => far.push(chunks[2]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK' }));
    const other = splitIntoChunks(frame, { uploadId: 'u-2', chunkSize: 300 });
    expect(() => make().push(other[0]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK' }));
    expect(() => make({ maxBytes: 999 })).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
  });

  it('reports missing chunks, and a chunk far past a missing one is refused', () => {
    const chunks = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 10 });
    const asm = new ChunkAssembler({ uploadId: 'u-1', chunkCount: 100, totalBytes: 1000, window: 8 });
    asm.push(chunks[0]!);
    for (let i = 2; i < 9; i++) asm.push(chunks[i]!);
    expect(asm.missing().slice(0, 2)).toEqual([1, 9]);
    expect(asm.complete).toBe(false);
    expect(() => asm.push(chunks[9]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK', message: expect.stringContaining('chunk 1 is missing') }));
  });

  it('rejects pushes after completion and chunks disagreeing with the announcement', () => {
    const chunks = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 300 });
    const asm = make();
    chunks.forEach((c) => asm.push(c));
    expect(() => asm.push(chunks[0]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK' }));
    expect(() => make({ totalBytes: 1001 }).push(chunks[0]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK' }));
    const other = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 250 });
    const mixed = make();
    mixed.push(chunks[0]!);
    expect(() => mixed.push(other[1]!)).toThrow(expect.objectContaining({ code: 'BAD_CHUNK' }));
  });

  it('parseChunk rejects malformed chunks with typed errors', () => {
    const [c] = splitIntoChunks(frame, { uploadId: 'u-1', chunkSize: 300 });
    const mutate = (f: (b: Uint8Array, dv: DataView) => void) => {
      const b = c!.slice();
      f(b, new DataView(b.buffer));
      return () => parseChunk(b);
    };
    const bad = expect.objectContaining({ code: 'BAD_CHUNK' });
    expect(() => parseChunk(c!.subarray(0, 20))).toThrow(bad);
    expect(mutate((b) => (b[0] = 0))).toThrow(bad);
    expect(mutate((b) => (b[4] = 2))).toThrow(expect.objectContaining({ code: 'VERSION_MISMATCH' }));
    expect(mutate((b) => (b[5] = 0))).toThrow(bad);
    expect(mutate((b) => (b[5] = 200))).toThrow(bad);
    expect(mutate((b) => (b[24] = 0x20))).toThrow(bad);
    expect(mutate((_b, dv) => dv.setUint32(8, 4, true))).toThrow(bad);
    expect(mutate((_b, dv) => dv.setUint32(12, 5, true))).toThrow(bad);
    expect(mutate((_b, dv) => dv.setUint32(16, 0xffffffff, true))).toThrow(bad);
    expect(mutate((_b, dv) => dv.setUint32(20, 0, true))).toThrow(bad);
    expect(() => parseChunk(c!.subarray(0, c!.length - 1))).toThrow(bad);
    const oversized = new Uint8Array(c!.length + 1);
    oversized.set(c!);
    expect(() => parseChunk(oversized)).toThrow(bad);
    expect(() => splitIntoChunks(frame, { uploadId: 'bad id' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });

  it('property: any split, delivered in any order within the window, reassembles the frame', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 400 }), fc.integer(), (len, size, seed) => {
        const f = Uint8Array.from({ length: len }, (_, i) => (i * 13 + seed) & 0xff);
        const chunks = splitIntoChunks(f, { uploadId: 'up', chunkSize: size });
        // Swap neighbours pseudo-randomly: every chunk stays within 1 place of its turn.
        const order = chunks.map((_, i) => i);
        for (let i = 0; i + 1 < order.length; i += 2) if (((seed >>> (i % 31)) & 1) === 1) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
        const asm = new ChunkAssembler({ uploadId: 'up', chunkCount: chunks.length, totalBytes: len, window: 2 });
        let out: Uint8Array | null = null;
        for (const i of order) out = asm.push(chunks[i]!);
        return out !== null && out.length === len && out.every((v, i) => v === f[i]);
      }),
    );
  });
});
