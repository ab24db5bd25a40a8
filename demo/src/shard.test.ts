import { describe, expect, it } from 'vitest';
import { encodeShard } from '../../packages/server/src/sim/format.js';
import { decodeShard } from './shard.js';

describe('page-side shard decoder', () => {
  it('reads what the server encodes, and refuses truncated bodies', () => {
    const enc = encodeShard({ simulation: true, kind: 'shard', n: 2, xShape: [3], numClasses: 10, labelCounts: [], note: 'sim' }, new Float32Array([0, 0.5, 1, 0.25, 0.75, 0]), [7, 2]);
    const buf = enc.buffer.slice(enc.byteOffset, enc.byteOffset + enc.byteLength) as ArrayBuffer;
    const d = decodeShard(buf);
    expect(Array.from(d.x)).toEqual([0, 0.5, 1, 0.25, 0.75, 0]);
    expect(Array.from(d.y)).toEqual([7, 2]);
    expect(d.meta.simulation).toBe(true);
    expect(() => decodeShard(buf.slice(0, buf.byteLength - 1))).toThrow(/length/);
  });
});
