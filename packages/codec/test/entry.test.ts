import { describe, expect, it } from 'vitest';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { decodeFrame, encodeFrame, fflateCompressor } from '@fedweb/codec';

describe('package entry points', () => {
  it('@fedweb/codec and @fedweb/codec/node resolve and interoperate', async () => {
    const frame = await encodeFrame([{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }], { compressor: nodeZlibCompressor });
    const [w0] = await decodeFrame(frame, { compressor: fflateCompressor });
    expect(Array.from(w0!.data)).toEqual([1, 2]);
  });
});
