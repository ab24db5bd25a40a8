/**
 * Writes the golden frames (`test/golden/<case>.bin`), their decoded values (`<case>.json`) and one chunked
 * frame (`chunks-<i>.bin`). Run on purpose when the wire format changes: `npx tsx packages/codec/test/make-golden.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeFrame } from '../src/frame.js';
import { encodeFrame } from '../src/frame-encode.js';
import { fflateCompressor } from '../src/compress.js';
import { splitIntoChunks } from '../src/chunks.js';
import { goldenCases } from './golden-cases.js';

const dir = fileURLToPath(new URL('./golden/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const c of goldenCases) {
  const frame = await encodeFrame(c.tensors, {
    encoding: c.encoding,
    blockSize: c.blockSize,
    topkFraction: c.topkFraction,
    compressor: c.deflate ? fflateCompressor : undefined,
  });
  const decoded = await decodeFrame(frame);
  writeFileSync(`${dir}${c.name}.bin`, frame);
  writeFileSync(`${dir}${c.name}.json`, JSON.stringify(decoded.map((t) => ({ name: t.name, shape: t.shape, data: Array.from(t.data) })), null, 1) + '\n');
  console.log(`${c.name}: ${frame.length} bytes`);
}
const chunked = await encodeFrame(goldenCases[0]!.tensors);
splitIntoChunks(chunked, { uploadId: 'golden-1', chunkSize: 64 }).forEach((c, i) => writeFileSync(`${dir}chunks-${i}.bin`, c));
console.log(`chunks: ${Math.ceil(chunked.length / 64)}`);
