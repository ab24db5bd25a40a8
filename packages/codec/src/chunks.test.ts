import { describe, expect, it } from 'vitest';
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
});
