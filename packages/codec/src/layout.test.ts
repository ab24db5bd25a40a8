import { describe, expect, it } from 'vitest';
import { flattenTensors, layoutSize, shapeSize, unflattenTensors } from './layout.js';

describe('layout', () => {
  const layout = [
    { name: 'w0', shape: [784, 128] },
    { name: 'w1', shape: [128] },
    { name: 's', shape: [] },
  ];
  it('counts elements (scalar = 1, zero dims = 0)', () => {
    expect(layoutSize(layout)).toBe(784 * 128 + 128 + 1);
    expect(shapeSize([0, 5])).toBe(0);
    expect(() => shapeSize([2, -1])).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => shapeSize([1.5])).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
  it('flattens and unflattens in layout order', () => {
    const t = [
      { name: 'a', shape: [2], data: new Float32Array([1, 2]) },
      { name: 'b', shape: [1, 3], data: new Float32Array([3, 4, 5]) },
    ];
    const flat = flattenTensors(t);
    expect(Array.from(flat)).toEqual([1, 2, 3, 4, 5]);
    const back = unflattenTensors(flat, t);
    expect(back.map((x) => [x.name, x.shape, Array.from(x.data)])).toEqual([['a', [2], [1, 2]], ['b', [1, 3], [3, 4, 5]]]);
    expect(() => unflattenTensors(new Float32Array(4), t)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => flattenTensors([{ name: 'a', shape: [3], data: new Float32Array(2) }])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});
