/**
 * `npm run fuzz [-- <frames> <seed>]`: the long frame fuzz (default 1,000,000 mutated frames, decode + fold each,
 * alternating the fflate and node:zlib inflaters, plus 10,000 through CompressionStream). Prints its count and
 * the rejection codes; exits 1 with the failing seeds if any frame crashed or corrupted an accumulator.
 * Reproduce one failure with `npm run fuzz -- 1 <seed>`.
 */
import { createCompressionStreamCompressor, fflateCompressor } from '../src/compress.js';
import { nodeZlibCompressor } from '../src/node.js';
import { makeSeeds, runFuzz, type FuzzStats } from './fuzz-lib.js';

const count = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run fuzz -- [frames] [seed]');
  process.exit(2);
}
const seeds = await makeSeeds();
const t0 = performance.now();
const progress = (s: FuzzStats) => console.log(`  ${s.frames.toLocaleString('en')} frames, ${s.crashes.length} crashes, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
console.log(`fuzzing ${count.toLocaleString('en')} frames from seed ${seed} (${seeds.map((s) => s.label).join(', ')})`);
const main = await runFuzz(seeds, count, seed, { compressors: [fflateCompressor, nodeZlibCompressor], onProgress: progress });
const streamCount = Math.min(10_000, count);
const stream = await runFuzz(seeds.filter((s) => s.label.endsWith('+deflate')), streamCount, seed ^ 0x5a5a5a5a, { compressors: [createCompressionStreamCompressor()] });
const total = main.frames + stream.frames;
const crashes = [...main.crashes, ...stream.crashes];
console.log(
  JSON.stringify(
    {
      frames: total,
      seed,
      valid: main.valid + stream.valid,
      rejected: Object.fromEntries([...new Set([...Object.keys(main.rejected), ...Object.keys(stream.rejected)])].sort().map((k) => [k, (main.rejected[k] ?? 0) + (stream.rejected[k] ?? 0)])),
      fold_rejected: main.foldRejected,
      crashes: crashes.length,
      slowest_ms: Math.max(main.slowestMs, stream.slowestMs),
      seconds: Math.round((performance.now() - t0) / 1000),
    },
    null,
    1,
  ),
);
for (const c of crashes.slice(0, 10)) console.error(`CRASH seed=${c.seed} (${c.label}): ${c.error}`);
console.log(`fuzzed ${total.toLocaleString('en')} frames: ${crashes.length === 0 ? 'no crashes' : `${crashes.length} CRASHES`}`);
process.exit(crashes.length === 0 ? 0 : 1);
