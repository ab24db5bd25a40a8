import { describe, expect, it } from 'vitest';
import { checkDataset } from './dataset.js';

describe('checkDataset', () => {
  it('accepts class labels and one-hot / regression targets', () => {
    expect(() => checkDataset({ x: new Float32Array(6), xShape: [3], y: new Int32Array(2), yShape: [] })).not.toThrow();
    expect(() => checkDataset({ x: new Float32Array(8), xShape: [2, 2], y: new Float32Array(6), yShape: [3] })).not.toThrow();
  });

  it('refuses mismatched lengths with a message that says what to fix', () => {
    expect(() => checkDataset({ x: new Float32Array(7), xShape: [3], y: new Int32Array(2), yShape: [] })).toThrow(/multiple of prod\(xShape\) = 3/);
    expect(() => checkDataset({ x: new Float32Array(6), xShape: [3], y: new Int32Array(3), yShape: [] })).toThrow(/2 examples need 2/);
    expect(() => checkDataset({ x: [1, 2], xShape: [2], y: new Int32Array(1), yShape: [] })).toThrow(/not a Float32Array/);
    expect(() => checkDataset(undefined)).toThrow(/data.load\(\) must return/);
  });

  it('explains a detached (already transferred) buffer', () => {
    const x = new Float32Array(6);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    expect(() => checkDataset({ x, xShape: [3], y: new Int32Array(2), yShape: [] })).toThrow(/return fresh arrays/);
  });

  it('checks the validation split', () => {
    expect(() =>
      checkDataset({ x: new Float32Array(6), xShape: [3], y: new Int32Array(2), yShape: [], validation: { x: new Float32Array(3), y: new Int32Array(2) } }),
    ).toThrow(/validation.y must hold 1/);
  });
});
