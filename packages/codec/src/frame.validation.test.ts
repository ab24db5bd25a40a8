import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, readFrameHeader } from './frame.js';
import { encodeFrame } from './frame-encode.js';
import { createCompressionStreamCompressor, fflateCompressor } from './compress.js';
import { nodeZlibCompressor } from './node.js';
import { isFedError, type ErrorCode } from './errors.js';
import { f32Bytes, rawFrame, splitFrame } from '../test/raw-frame.js';
import type { NamedTensor } from './types.js';

async function code(p: Promise<unknown> | (() => unknown)): Promise<ErrorCode | 'ok'> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (e) {
    if (!isFedError(e)) throw new Error(`untyped error: ${String(e)}`);
    return e.code;
  }
}

const f32Entry = (name: string, shape: number[], byteOffset: number, byteLength: number) => ({ name, shape, dtype: 'float32', encoding: 'f32', byteOffset, byteLength });
const good = () => ({ manifest: { tensors: [f32Entry('a', [2], 0, 8)] }, body: f32Bytes([1, 2]) });

describe('frame header validation', () => {
  it('accepts the reference raw frame', async () => {
    expect(await code(decodeFrame(rawFrame(good())))).toBe('ok');
  });

  it.each<[string, () => Uint8Array, ErrorCode]>([
    ['bad magic', () => rawFrame({ ...good(), magic: 'FWF2' }), 'BAD_FRAME'],
    ['future version', () => rawFrame({ ...good(), version: 2 }), 'VERSION_MISMATCH'],
    ['unknown flag', () => rawFrame({ ...good(), flags: 2 }), 'BAD_FRAME'],
    ['reserved bytes set', () => { const f = rawFrame(good()); f[6] = 1; return f; }, 'BAD_FRAME'],
    ['manifest length huge', () => rawFrame({ ...good(), manifestBytes: 0xffffffff }), 'FRAME_TOO_LARGE'],
    ['manifest past the end', () => rawFrame({ ...good(), manifestBytes: 1000 }), 'BAD_FRAME'],
    ['body length huge', () => rawFrame({ ...good(), bodyBytes: 0xffffffff }), 'FRAME_TOO_LARGE'],
    ['body length short', () => rawFrame({ ...good(), bodyBytes: 4 }), 'BAD_FRAME'],
    ['body length long', () => rawFrame({ ...good(), bodyBytes: 12 }), 'BAD_FRAME'],
    ['compressed body claiming more than deflate can hold', () => rawFrame({ ...good(), flags: 1, body: new Uint8Array(2), bodyBytes: 10_000_000 }), 'BAD_FRAME'],
    ['manifest padding not zero', () => { const f = rawFrame(good()); const m = new DataView(f.buffer).getUint32(8, true); if ((16 + m) % 8 === 0) throw new Error('no padding'); f[16 + m] = 1; return f; }, 'BAD_FRAME'],
    ['truncated header', () => rawFrame(good()).subarray(0, 15), 'BAD_FRAME'],
    ['truncated body', () => { const f = rawFrame(good()); return f.subarray(0, f.length - 1); }, 'BAD_FRAME'],
    ['manifest not JSON', () => rawFrame({ ...good(), manifest: '{"tensors":[' }), 'BAD_FRAME'],
    ['manifest not UTF-8', () => { const f = rawFrame({ ...good(), manifest: '{"tensors":[],"x":"\u00e9"}' }); f[f.indexOf(0xc3)] = 0xff; return f; }, 'BAD_FRAME'],
    ['manifest without tensors', () => rawFrame({ ...good(), manifest: {} }), 'BAD_FRAME'],
    ['manifest with an unknown key', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('a', [2], 0, 8)], extra: 1 } }), 'BAD_FRAME'],
    ['entry with an unknown key', () => rawFrame({ ...good(), manifest: { tensors: [{ ...f32Entry('a', [2], 0, 8), k: 1 }] } }), 'BAD_FRAME'],
    ['dtype float64', () => rawFrame({ ...good(), manifest: { tensors: [{ ...f32Entry('a', [2], 0, 8), dtype: 'float64' }] } }), 'BAD_FRAME'],
    ['unknown encoding', () => rawFrame({ ...good(), manifest: { tensors: [{ ...f32Entry('a', [2], 0, 8), encoding: 'f16' }] } }), 'BAD_FRAME'],
    ['negative dim', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('a', [-2], 0, 8)] } }), 'BAD_FRAME'],
    ['fractional dim', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('a', [1.5], 0, 8)] } }), 'BAD_FRAME'],
    ['rank 9', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('a', [2, 1, 1, 1, 1, 1, 1, 1, 1], 0, 8)] } }), 'BAD_FRAME'],
    ['empty name', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('', [2], 0, 8)] } }), 'BAD_FRAME'],
    ['shape vs byteLength', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('a', [3], 0, 8)] } }), 'BAD_FRAME'],
    ['huge shape', () => rawFrame({ ...good(), manifest: { tensors: [f32Entry('a', [2 ** 32, 2 ** 32, 2 ** 32], 0, 8)] } }), 'FRAME_TOO_LARGE'],
    ['overlapping tensors', () => rawFrame({ manifest: { tensors: [f32Entry('a', [2], 0, 8), f32Entry('b', [1], 4, 4)] }, body: f32Bytes([1, 2, 3]) }), 'BAD_FRAME'],
    ['gap between tensors', () => rawFrame({ manifest: { tensors: [f32Entry('a', [1], 0, 4), f32Entry('b', [1], 8, 4)] }, body: f32Bytes([1, 0, 3]) }), 'BAD_FRAME'],
    ['tensor past the body', () => rawFrame({ manifest: { tensors: [f32Entry('a', [4], 0, 16)] }, body: f32Bytes([1, 2]) }), 'BAD_FRAME'],
    ['duplicate names', () => rawFrame({ manifest: { tensors: [f32Entry('a', [1], 0, 4), f32Entry('a', [1], 4, 4)] }, body: f32Bytes([1, 2]) }), 'BAD_FRAME'],
    ['NaN value', () => rawFrame({ ...good(), body: f32Bytes([1, NaN]) }), 'NON_FINITE'],
    ['Infinity value', () => rawFrame({ ...good(), body: f32Bytes([-Infinity, 1]) }), 'NON_FINITE'],
  ])('rejects %s', async (_label, make, expected) => {
    expect(await code(decodeFrame(make()))).toBe(expected);
  });

  it('rejects non-zero padding between tensors', async () => {
    const int8 = { name: 'a', shape: [1], dtype: 'float32', encoding: 'int8', blockSize: 256, byteOffset: 0, byteLength: 5 };
    const body = new Uint8Array(12);
    new DataView(body.buffer).setFloat32(0, 1, true);
    body[4] = 1;
    new DataView(body.buffer).setFloat32(8, 7, true);
    const manifest = { tensors: [int8, f32Entry('b', [1], 8, 4)] };
    expect(await code(decodeFrame(rawFrame({ manifest, body })))).toBe('ok');
    body[6] = 9;
    expect(await code(decodeFrame(rawFrame({ manifest, body })))).toBe('BAD_FRAME');
  });

  it('rejects bad int8 scales and top-k payloads', async () => {
    const int8 = (scale: number) => rawFrame({
      manifest: { tensors: [{ name: 'a', shape: [2], dtype: 'float32', encoding: 'int8', blockSize: 256, byteOffset: 0, byteLength: 6 }] },
      body: Uint8Array.from([...f32Bytes([scale]), 1, 0xff]),
    });
    expect(await code(decodeFrame(int8(0.5)))).toBe('ok');
    expect(await code(decodeFrame(int8(NaN)))).toBe('NON_FINITE');
    expect(await code(decodeFrame(int8(Infinity)))).toBe('NON_FINITE');
    expect(await code(decodeFrame(int8(-0.5)))).toBe('BAD_FRAME');
    expect(await code(decodeFrame(int8(3e38)))).toBe('BAD_FRAME');
    const topk = (k: number, n: number, gaps: number[]) => rawFrame({
      manifest: { tensors: [{ name: 'a', shape: [n], dtype: 'float32', encoding: 'topk', blockSize: 256, k, byteOffset: 0, byteLength: (k ? 4 : 0) + k + gaps.length }] },
      body: Uint8Array.from([...(k ? f32Bytes([1]) : []), ...Array<number>(k).fill(1), ...gaps]),
    });
    expect(await code(decodeFrame(topk(2, 4, [1, 1])))).toBe('ok');
    const [t] = await decodeFrame(topk(2, 4, [1, 1]));
    expect(Array.from(t!.data)).toEqual([0, 1, 0, 1]);
    expect(await code(decodeFrame(topk(2, 4, [1, 2])))).toBe('BAD_FRAME');
    expect(await code(decodeFrame(topk(5, 4, [0, 0, 0, 0, 0])))).toBe('BAD_FRAME');
    expect(await code(decodeFrame(topk(1, 4, [0x80, 0])))).toBe('BAD_FRAME');
  });

  it('applies limits with FRAME_TOO_LARGE', async () => {
    const tensors: NamedTensor[] = Array.from({ length: 5 }, (_, i) => ({ name: `w${i}`, shape: [10], data: new Float32Array(10) }));
    const frame = await encodeFrame(tensors);
    expect(await code(decodeFrame(frame, { limits: { maxTensors: 4 } }))).toBe('FRAME_TOO_LARGE');
    expect(await code(decodeFrame(frame, { limits: { maxElements: 49 } }))).toBe('FRAME_TOO_LARGE');
    expect(await code(decodeFrame(frame, { limits: { maxFrameBytes: frame.length - 1 } }))).toBe('FRAME_TOO_LARGE');
    expect(await code(decodeFrame(frame, { limits: { maxBodyBytes: 199 } }))).toBe('FRAME_TOO_LARGE');
    expect(await code(decodeFrame(frame, { limits: { maxBodyBytes: 200, maxElements: 50, maxTensors: 5, maxFrameBytes: frame.length } }))).toBe('ok');
    expect(await code(decodeFrame(frame, { limits: { maxTensors: -1 } }))).toBe('BAD_CONFIG');
  });

  it('rejects compressed bodies that inflate to the wrong size or are corrupt', async () => {
    const frame = await encodeFrame([{ name: 'a', shape: [1000], data: new Float32Array(1000).fill(1) }], { compressor: fflateCompressor });
    const { manifest, body } = splitFrame(frame);
    for (const compressor of [fflateCompressor, nodeZlibCompressor]) {
      const shorter = { tensors: [{ ...manifest.tensors[0], shape: [999], byteLength: 3996 }] };
      expect(await code(decodeFrame(rawFrame({ manifest: shorter, body, flags: 1, bodyBytes: 3996 }), { compressor }))).toBe('FRAME_TOO_LARGE');
      const smaller = await compressor.deflate(new Uint8Array(3996));
      expect(await code(decodeFrame(rawFrame({ manifest, body: smaller, flags: 1 , bodyBytes: 4000 }), { compressor }))).toBe('BAD_FRAME');
      expect(await code(decodeFrame(rawFrame({ manifest, body: Uint8Array.from([0xff, 0xff, 0xff, 0xff]), flags: 1, bodyBytes: 4000 }), { compressor }))).toBe('COMPRESSION');
    }
    // A bomb: a few KiB inflating to 40 MB in a frame that declares 4000 body bytes.
    const bomb = await nodeZlibCompressor.deflate(new Uint8Array(40_000_000));
    for (const compressor of [fflateCompressor, nodeZlibCompressor]) {
      expect(await code(decodeFrame(rawFrame({ manifest, body: bomb, flags: 1, bodyBytes: 4000 }), { compressor }))).toBe('FRAME_TOO_LARGE');
      expect(await code(decodeFrame(rawFrame({ manifest, body: bomb, flags: 1, bodyBytes: 4000 }), { compressor: createCompressionStreamCompressor() }))).toBe('FRAME_TOO_LARGE');
    }
  });

  it('decodes frames that sit at an unaligned offset in a larger buffer', async () => {
    for (const encoding of ['f32', 'int8', 'int4', 'topk'] as const) {
      const frame = await encodeFrame([{ name: 'a', shape: [3], data: new Float32Array([1, -2, 3]) }], { encoding, topkFraction: 1 });
      const buf = new Uint8Array(frame.length + 1);
      buf.set(frame, 1);
      const [a] = await decodeFrame(buf.subarray(1));
      const qmax = encoding === 'int4' ? 7 : 127;
      [1, -2, 3].forEach((v, i) => expect(Math.abs(a!.data[i]! - v)).toBeLessThanOrEqual(3 / qmax / 2 + 1e-6));
    }
  });

  it('rejects things that are not frames with typed errors', async () => {
    expect(await code(decodeFrame(new ArrayBuffer(20) as unknown as Uint8Array))).toBe('BAD_FRAME');
    expect(await code(() => readFrameHeader(new Uint8Array(0)))).toBe('BAD_FRAME');
  });
});

const tensorsArb = fc
  .uniqueArray(
    fc.record({
      name: fc.string({ minLength: 1, maxLength: 12 }),
      shape: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
      seed: fc.integer(),
    }),
    { selector: (t) => t.name, maxLength: 5 },
  )
  .map((ts) =>
    ts.map(({ name, shape, seed }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => (Math.sin(seed + i * 1.7) * 1000) / (1 + (i % 7)));
      return { name, shape, data } satisfies NamedTensor;
    }),
  );

describe('frame round-trip properties', () => {
  it('f32 round-trips exactly, names and shapes preserved, with or without deflate', async () => {
    await fc.assert(
      fc.asyncProperty(tensorsArb, fc.boolean(), async (ts, z) => {
        const frame = await encodeFrame(ts, { compressor: z ? fflateCompressor : undefined });
        const out = await decodeFrame(frame, { expect: ts });
        return out.length === ts.length && out.every((t, i) => t.name === ts[i]!.name && t.data.every((v, j) => Object.is(v, ts[i]!.data[j])));
      }),
      { numRuns: 200 },
    );
  });

  it('int8 decodes within scale/2 of the input, and encoding is deterministic', async () => {
    await fc.assert(
      fc.asyncProperty(tensorsArb, fc.integer({ min: 1, max: 8 }), async (ts, bs) => {
        const frame = await encodeFrame(ts, { encoding: 'int8', blockSize: bs });
        const again = await encodeFrame(ts, { encoding: 'int8', blockSize: bs });
        if (frame.length !== again.length || frame.some((b, i) => b !== again[i])) return false;
        const out = await decodeFrame(frame);
        return out.every((t, i) => {
          const x = ts[i]!.data;
          for (let b = 0; b * bs < x.length; b++) {
            let m = 0;
            for (let j = b * bs; j < Math.min(x.length, (b + 1) * bs); j++) m = Math.max(m, Math.abs(x[j]!));
            const s = Math.fround(m / 127);
            for (let j = b * bs; j < Math.min(x.length, (b + 1) * bs); j++) if (Math.abs(x[j]! - t.data[j]!) > s / 2 + Math.abs(t.data[j]!) * 2 ** -24) return false;
          }
          return true;
        });
      }),
      { numRuns: 200 },
    );
  });

  it('topk keeps round(n * fraction) entries, at the largest magnitudes, zero elsewhere', async () => {
    await fc.assert(
      fc.asyncProperty(tensorsArb, fc.double({ min: 0.01, max: 1, noNaN: true }), async (ts, fraction) => {
        const frame = await encodeFrame(ts, { encoding: 'topk', topkFraction: fraction, compressor: fflateCompressor });
        const header = readFrameHeader(frame);
        const out = await decodeFrame(frame);
        return header.tensors.every((e, i) => {
          const x = ts[i]!.data;
          const n = x.length;
          const k = n === 0 ? 0 : Math.max(1, Math.min(n, Math.round(n * fraction)));
          if (e.encoding !== 'topk' || e.k !== k) return false;
          const kept = Array.from(x.keys()).sort((a, b) => Math.abs(x[b]!) - Math.abs(x[a]!) || a - b).slice(0, k);
          const keptSet = new Set(kept);
          return out[i]!.data.every((v, j) => keptSet.has(j) || v === 0);
        });
      }),
      { numRuns: 200 },
    );
  });
});
