import { describe, expect, it } from 'vitest';
import { createCompressionStreamCompressor, fflateCompressor } from './compress.js';
import { nodeZlibCompressor } from './node.js';
import type { Compressor } from './types.js';

const compressors: Compressor[] = [fflateCompressor, nodeZlibCompressor, createCompressionStreamCompressor()];
/** Byte equality without vitest's slow deep-diff of large arrays. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i % 251 < 120 ? 0 : (i * 31) & 0xff));

describe('compressors', () => {
  it('what each deflates, every other inflates byte-exact', async () => {
    for (const a of compressors) {
      const z = await a.deflate(data);
      expect(z.length).toBeLessThan(data.length);
      for (const b of compressors) expect(sameBytes(await b.inflate(z, data.length), data), `${a.name} -> ${b.name}`).toBe(true);
    }
  });

  it('a zip bomb fails with FRAME_TOO_LARGE', async () => {
    const bomb = await nodeZlibCompressor.deflate(new Uint8Array(50_000_000));
    for (const c of compressors) await expect(c.inflate(bomb, 1_000_000)).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE' });
  });
});
