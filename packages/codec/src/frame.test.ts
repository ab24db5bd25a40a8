import { describe, expect, it } from 'vitest';
import { decodeFrame, readFrameHeader } from './frame.js';
import { encodeFrame } from './frame-encode.js';
import { fflateCompressor } from './compress.js';
import { isFedError } from './errors.js';
import type { NamedTensor } from './types.js';

const tensors = (): NamedTensor[] => [
  { name: 'dense/kernel', shape: [3, 2], data: new Float32Array([1, -2, 3.5, 0, -0.25, 1e-30]) },
  { name: 'dense/bias', shape: [2], data: new Float32Array([0.125, -7]) },
  { name: 'scalar', shape: [], data: new Float32Array([42]) },
  { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
];

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isFedError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected a FedError ${code}`);
}

describe('encodeFrame / decodeFrame', () => {
  it('round-trips f32 exactly, with and without deflate', async () => {
    for (const compressor of [undefined, fflateCompressor]) {
      const frame = await encodeFrame(tensors(), { compressor });
      const out = await decodeFrame(frame);
      expect(out.map((t) => t.name)).toEqual(['dense/kernel', 'dense/bias', 'scalar', 'empty']);
      expect(out.map((t) => t.shape)).toEqual([[3, 2], [2], [], [0, 5]]);
      out.forEach((t, i) => expect(Array.from(t.data)).toEqual(Array.from(tensors()[i]!.data)));
    }
  });

  it('writes the documented header', async () => {
    const frame = await encodeFrame([{ name: 'a', shape: [1], data: new Float32Array([1]) }]);
    expect(Array.from(frame.subarray(0, 8))).toEqual([0x46, 0x57, 0x46, 0x31, 1, 0, 0, 0]);
    const dv = new DataView(frame.buffer);
    const m = dv.getUint32(8, true);
    expect(dv.getUint32(12, true)).toBe(4);
    const json = new TextDecoder().decode(frame.subarray(16, 16 + m));
    expect(json).toBe('{"tensors":[{"name":"a","shape":[1],"dtype":"float32","encoding":"f32","byteOffset":0,"byteLength":4}]}');
    const bodyOffset = Math.ceil((16 + m) / 8) * 8;
    expect(frame.length).toBe(bodyOffset + 4);
    expect(dv.getFloat32(bodyOffset, true)).toBe(1);
  });

  it('matches the example in README.md byte for byte', async () => {
    const frame = await encodeFrame([{ name: 'a', shape: [2], data: new Float32Array([1, 2]) }]);
    const hex = Buffer.from(frame).toString('hex');
    expect(frame.length).toBe(128);
    expect(hex.slice(0, 32)).toBe('46574631010000006700000008000000');
    expect(new TextDecoder().decode(frame.subarray(16, 119))).toBe('{"tensors":[{"name":"a","shape":[2],"dtype":"float32","encoding":"f32","byteOffset":0,"byteLength":8}]}');
    expect(hex.slice(238)).toBe('00' + '0000803f00000040');
  });

  it('int8 decodes within scale/2 and hand-computed values match', async () => {
    const frame = await encodeFrame([{ name: 'x', shape: [4], data: new Float32Array([0.5, -1, 0.25, 0]) }], { encoding: 'int8' });
    const h = readFrameHeader(frame);
    expect(h.tensors[0]).toMatchObject({ encoding: 'int8', blockSize: 256, byteOffset: 0, byteLength: 4 + 4 });
    const [x] = await decodeFrame(frame);
    const s = Math.fround(1 / 127);
    // q = round(0.5 * 127) = 64 (63.5 rounds away from zero), -127, round(31.75) = 32, 0
    expect(Array.from(x!.data)).toEqual([Math.fround(64 * s), Math.fround(-127 * s), Math.fround(32 * s), 0]);
  });

  it('topk keeps the largest entries and zeros the rest', async () => {
    const data = new Float32Array([0.1, -3, 2, 0, 0.5, -0.2, 0, 0, 0, 1]);
    const frame = await encodeFrame([{ name: 'x', shape: [10], data }], { encoding: 'topk', topkFraction: 0.3 });
    const h = readFrameHeader(frame);
    expect(h.tensors[0]).toMatchObject({ encoding: 'topk', k: 3 });
    const [x] = await decodeFrame(frame);
    const s = Math.fround(3 / 127);
    expect(Array.from(x!.data)).toEqual([0, Math.fround(-127 * s), Math.fround(Math.round(2 / s) * s), 0, 0, 0, 0, 0, 0, Math.fround(Math.round(1 / s) * s)]);
  });

  it('rejects NaN on encode and mismatched expect on decode', async () => {
    await rejects(encodeFrame([{ name: 'x', shape: [1], data: new Float32Array([NaN]) }]), 'NON_FINITE');
    await rejects(encodeFrame([{ name: 'x', shape: [1], data: new Float32Array([Infinity]) }], { encoding: 'int8' }), 'NON_FINITE');
    await rejects(encodeFrame([{ name: 'x', shape: [2], data: new Float32Array(3) }]), 'SHAPE_MISMATCH');
    const frame = await encodeFrame(tensors());
    await rejects(decodeFrame(frame, { expect: [{ name: 'dense/kernel', shape: [2, 3] }] }), 'SHAPE_MISMATCH');
  });

  it('rejects bad magic, version and truncation with typed errors', async () => {
    const frame = await encodeFrame(tensors());
    const badMagic = frame.slice();
    badMagic[0] = 0;
    await rejects(decodeFrame(badMagic), 'BAD_FRAME');
    const badVersion = frame.slice();
    badVersion[4] = 2;
    await rejects(decodeFrame(badVersion), 'VERSION_MISMATCH');
    await rejects(decodeFrame(frame.subarray(0, frame.length - 1)), 'BAD_FRAME');
    await rejects(decodeFrame(frame.subarray(0, 10)), 'BAD_FRAME');
  });
});
