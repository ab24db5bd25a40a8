import { describe, expect, it } from 'vitest';
import { toMnist } from './draw.js';

describe('toMnist', () => {
  it('scales the ink box to 20 px and centres it by centre of mass', () => {
    // A 100x100 image with a filled 40x80 (w x h) rectangle at x 10..49, y 5..84.
    const w = 100;
    const ink = new Float32Array(w * w);
    for (let y = 5; y <= 84; y++) for (let x = 10; x <= 49; x++) ink[y * w + x] = 1;
    const out = toMnist(ink, w, w, { minX: 10, minY: 5, maxX: 49, maxY: 84 });
    // Scale 20/80 = 0.25: a 10 x 20 block of ones, centred: columns 9..18, rows 4..23.
    let sum = 0;
    let minX = 28, maxX = -1, minY = 28, maxY = -1;
    for (let i = 0; i < 784; i++) {
      const v = out[i] as number;
      sum += v;
      if (v > 0) {
        minX = Math.min(minX, i % 28); maxX = Math.max(maxX, i % 28);
        minY = Math.min(minY, Math.floor(i / 28)); maxY = Math.max(maxY, Math.floor(i / 28));
      }
    }
    expect(sum).toBeCloseTo(200, 5);
    expect([minX, maxX, minY, maxY]).toEqual([9, 18, 4, 23]);
  });
});
