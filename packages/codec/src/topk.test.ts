import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorFeedback, indexGapsLength, readIndexGaps, selectTopK, writeIndexGaps } from './topk.js';

/** Reference: sort by |x| descending, ties by lower index, keep k, return in index order. */
function referenceTopK(x: Float32Array, k: number): number[] {
  return Array.from(x.keys())
    .sort((a, b) => Math.abs(x[b]!) - Math.abs(x[a]!) || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}

describe('selectTopK', () => {
  it('hand-computed: keeps the largest magnitudes in index order', () => {
    const r = selectTopK(new Float32Array([0.1, -3, 2, 0]), 2);
    expect(Array.from(r.indices)).toEqual([1, 2]);
    expect(Array.from(r.values)).toEqual([-3, 2]);
  });

  it('breaks ties by lower index', () => {
    const r = selectTopK(new Float32Array([1, -1, 1, 1, 0.5]), 2);
    expect(Array.from(r.indices)).toEqual([0, 1]);
  });

  it('handles k = 0, k = n, and rejects bad k and NaN', () => {
    expect(selectTopK(new Float32Array([1, 2]), 0).indices.length).toBe(0);
    expect(Array.from(selectTopK(new Float32Array([1, 2]), 2).indices)).toEqual([0, 1]);
    expect(() => selectTopK(new Float32Array([1, 2]), 3)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => selectTopK(new Float32Array([1, NaN]), 1)).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
  });

  it('property: equals a sort-based reference (including many ties and zeros)', () => {
    const value = fc.oneof(fc.constantFrom(0, 1, -1, 0.5, 2 ** -140), fc.float({ noNaN: true, noDefaultInfinity: true }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 300 }), fc.nat(), (a, kr) => {
        const x = Float32Array.from(a);
        const k = x.length === 0 ? 0 : kr % (x.length + 1);
        const r = selectTopK(x, k);
        const ref = referenceTopK(x, k);
        return Array.from(r.indices).join() === ref.join() && Array.from(r.values).every((v, j) => Object.is(v, x[ref[j]!]));
      }),
      { numRuns: 500 },
    );
  });
});

describe('index gap varints', () => {
  it('hand-computed: gaps idx[j] - idx[j-1] - 1 as LEB128', () => {
    const idx = new Uint32Array([0, 1, 130, 20000]);
    // gaps: 0, 0, 128 -> [0x80, 0x01], 19869 -> [0x9d, 0x9b, 0x01]
    const out = new Uint8Array(indexGapsLength(idx));
    expect(writeIndexGaps(idx, out, 0)).toBe(7);
    expect(Array.from(out)).toEqual([0, 0, 0x80, 0x01, 0x9d, 0x9b, 0x01]);
    const back = new Uint32Array(4);
    readIndexGaps(out, 0, out.length, 4, 20001, back);
    expect(Array.from(back)).toEqual([0, 1, 130, 20000]);
  });

  it('rejects out-of-range, non-minimal, over-long, truncated and trailing varints', () => {
    const read = (bytes: number[], k: number, n: number) => () => readIndexGaps(Uint8Array.from(bytes), 0, bytes.length, k, n, new Uint32Array(k));
    const badFrame = expect.objectContaining({ code: 'BAD_FRAME' });
    expect(read([5], 1, 5)).toThrow(badFrame);
    expect(read([0x80, 0x00], 1, 100)).toThrow(badFrame);
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 1, 2 ** 32)).toThrow(badFrame);
    expect(read([0x80], 1, 100)).toThrow(badFrame);
    expect(read([0, 0], 1, 100)).toThrow(badFrame);
    expect(read([0], 2, 100)).toThrow(badFrame);
    expect(read([0xff, 0xff, 0xff, 0xff, 0x0f], 1, 2 ** 33)).not.toThrow();
  });

  it('property: round-trips any strictly increasing index set', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 2 ** 32 - 2 }), { maxLength: 200 }), (a) => {
        const idx = Uint32Array.from(a.sort((x, y) => x - y));
        const out = new Uint8Array(indexGapsLength(idx));
        writeIndexGaps(idx, out, 0);
        const back = new Uint32Array(idx.length);
        readIndexGaps(out, 0, out.length, idx.length, 2 ** 32, back);
        return back.every((v, i) => v === idx[i]);
      }),
    );
  });
});

describe('ErrorFeedback', () => {
  it('hand-computed: residual = compensated - sent, added to the next update', () => {
    const ef = new ErrorFeedback();
    const c1 = ef.compensate([{ name: 'w', shape: [3], data: new Float32Array([1, 2, 3]) }]);
    expect(Array.from(c1[0]!.data)).toEqual([1, 2, 3]);
    ef.record(c1, [{ name: 'w', shape: [3], data: new Float32Array([0, 2, 3]) }]);
    expect(Array.from(ef.residual()[0]!.data)).toEqual([1, 0, 0]);
    const c2 = ef.compensate([{ name: 'w', shape: [3], data: new Float32Array([0.5, 0.5, 0.5]) }]);
    expect(Array.from(c2[0]!.data)).toEqual([1.5, 0.5, 0.5]);
    const restored = ErrorFeedback.from(ef.residual());
    expect(Array.from(restored.compensate([{ name: 'w', shape: [3], data: new Float32Array(3) }])[0]!.data)).toEqual([1, 0, 0]);
    expect(() => ef.compensate([{ name: 'w', shape: [2], data: new Float32Array(2) }])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });

  it('with top-k, sum of what was sent + final residual equals the sum of all updates', () => {
    const ef = new ErrorFeedback();
    const total = new Float64Array(50);
    const sent = new Float64Array(50);
    for (let r = 0; r < 5; r++) {
      const d = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i * 7 + r));
      d.forEach((v, i) => (total[i]! += v));
      const c = ef.compensate([{ name: 'w', shape: [50], data: d }]);
      const sel = selectTopK(c[0]!.data, 5);
      const s = new Float32Array(50);
      sel.indices.forEach((idx, j) => (s[idx] = sel.values[j]!));
      s.forEach((v, i) => (sent[i]! += v));
      ef.record(c, [{ name: 'w', shape: [50], data: s }]);
    }
    const res = ef.residual()[0]!.data;
    for (let i = 0; i < 50; i++) expect(sent[i]! + res[i]!).toBeCloseTo(total[i]!, 5);
  });
});
