import { describe, expect, it } from 'vitest';
import { createCompressionStreamCompressor, fflateCompressor } from '../src/compress.js';
import { nodeZlibCompressor } from '../src/node.js';
import { makeSeeds, runFuzz } from './fuzz-lib.js';

describe('frame fuzz (short; `npm run fuzz` runs >= 1,000,000)', () => {
  it('every mutated frame decodes to finite tensors or fails with a FedError; a failed fold leaves acc untouched', async () => {
    const seeds = await makeSeeds();
    const stats = await runFuzz(seeds, 8_000, 0x5eed, { compressors: [fflateCompressor, nodeZlibCompressor] });
    expect(stats.crashes.slice(0, 3)).toEqual([]);
    expect(stats.frames).toBe(8_000);
    // The mutations must reach past the header checks: some frames stay valid, and the body-level codes occur.
    expect(stats.valid).toBeGreaterThan(100);
    for (const c of ['BAD_FRAME', 'NON_FINITE', 'FRAME_TOO_LARGE', 'COMPRESSION', 'VERSION_MISMATCH']) expect(stats.rejected[c] ?? 0, c).toBeGreaterThan(0);
    expect(stats.foldRejected['SHAPE_MISMATCH'] ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('the browser-native inflater survives the same mutations', async () => {
    const seeds = (await makeSeeds()).filter((s) => s.label.endsWith('+deflate'));
    const stats = await runFuzz(seeds, 1_000, 0xc0ffee, { compressors: [createCompressionStreamCompressor()], fold: false });
    expect(stats.crashes.slice(0, 3)).toEqual([]);
  }, 60_000);
});
