import { describe, expect, it } from 'vitest';
import { createCompressionStreamCompressor, fflateCompressor } from './compress.js';
import { nodeZlibCompressor, nodeZlibSyncCompressor } from './node.js';
import { decodeFrame } from './frame.js';
import { encodeFrame } from './frame-encode.js';
import type { Compressor } from './types.js';

const compressors: Compressor[] = [fflateCompressor, nodeZlibCompressor, nodeZlibSyncCompressor, createCompressionStreamCompressor()];
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

  it('empty input round-trips through every pair', async () => {
    for (const a of compressors) {
      const z = await a.deflate(new Uint8Array(0));
      for (const b of compressors) expect((await b.inflate(z, 10)).length).toBe(0);
    }
  });

  it('corrupt or truncated streams fail with COMPRESSION (or a short output the frame layer rejects)', async () => {
    const z = await fflateCompressor.deflate(data);
    for (const c of compressors) {
      await expect(c.inflate(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]), 1000), c.name).rejects.toMatchObject({ code: 'COMPRESSION' });
      // A stream cut in half either errors or yields fewer bytes than announced; never more, never an untyped error.
      try {
        const out = await c.inflate(z.subarray(0, z.length >> 1), data.length);
        expect(out.length).toBeLessThan(data.length);
      } catch (e) {
        expect(e, c.name).toMatchObject({ code: 'COMPRESSION' });
      }
    }
  });

  it('frames deflated by each adapter decode with each other adapter', async () => {
    const tensors = [{ name: 'w', shape: [5000], data: Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i) * 0.01) }];
    for (const a of compressors) {
      const frame = await encodeFrame(tensors, { encoding: 'int8', compressor: a });
      const ref = await decodeFrame(frame, { compressor: fflateCompressor });
      for (const b of compressors) {
        const [t] = await decodeFrame(frame, { compressor: b });
        expect(t!.data.every((v, i) => v === ref[0]!.data[i])).toBe(true);
      }
    }
  });
});
