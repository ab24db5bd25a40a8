import { describe, expect, it } from 'vitest';
import { decodeShard, encodeShard } from './shard.js';

describe('simulation shard format', () => {
  const meta = { simulation: true as const, kind: 'shard' as const, n: 2, xShape: [2], numClasses: 10, labelCounts: [], note: 'n' };

  it('round-trips features, labels and meta, also from an offset view', () => {
    const bytes = encodeShard(meta, new Float32Array([0, 0.5, 1, 0.25]), [3, 9]);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    for (const b of [bytes, padded.subarray(3)]) {
      const d = decodeShard(b);
      expect(Array.from(d.x)).toEqual([0, 0.5, 1, 0.25]);
      expect(Array.from(d.y)).toEqual([3, 9]);
      expect(d.meta).toEqual(meta);
    }
  });

  it('refuses truncated bodies, bad magic and meta that breaks the schema, with BAD_FRAME', () => {
    const bytes = encodeShard(meta, new Float32Array([0, 0.5, 1, 0.25]), [3, 9]);
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 1))).toThrow(/expected/);
    expect(() => decodeShard(new Uint8Array(16))).toThrow(/magic/);
    const notSim = encodeShard({ ...meta, simulation: false as unknown as true }, new Float32Array(4), [0, 0]);
    expect(() => decodeShard(notSim)).toThrow(/shard meta: simulation/);
    const badShape = encodeShard({ ...meta, n: 1, xShape: [0] as number[] }, new Float32Array(0), [0]);
    expect(() => decodeShard(badShape)).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
  });
});
