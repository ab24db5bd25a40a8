import { describe, expect, it } from 'vitest';
import { cnn, CNN_LAYOUT, CNN_PARAMS } from './cnn.js';
import { gather, loadMnist } from './mnist.js';
import { createRng } from '@fedweb/codec';

describe('plain-TypeScript MNIST CNN', () => {
  const { train, validation } = loadMnist();
  const batch = gather(train, [3, 700, 1500, 2800, 4100, 5600]);
  const all = Array.from({ length: batch.n }, (_, i) => i);

  it('has the demo CNN layout: 37,610 parameters in 8 tensors', () => {
    expect(CNN_PARAMS).toBe(37_610);
    expect(CNN_LAYOUT.map((t) => t.shape)).toEqual([[5, 5, 1, 8], [8], [5, 5, 8, 16], [16], [256, 128], [128], [128, 10], [10]]);
  });

  it('computes the gradient of the mean cross-entropy (central finite differences, every tensor)', () => {
    const params = cnn.init(7);
    const rng = createRng(3);
    // Positive conv biases: with zero biases the blank background sits exactly on the relu's kink.
    params.subarray(200, 208).fill(0.05);
    params.subarray(3408, 3424).fill(0.05);
    rng.addGaussian(params.subarray(36_192, 36_320), 0.05);
    const grad = new Float32Array(CNN_PARAMS);
    const loss = cnn.gradient(params, batch, all, grad);
    expect(loss).toBeGreaterThan(0);
    const lossAt = (p: Float32Array) => cnn.gradient(p, batch, all, new Float32Array(CNN_PARAMS));
    let offset = 0;
    let checked = 0;
    for (const t of CNN_LAYOUT) {
      const size = t.shape.reduce((a, b) => a * b, 1);
      // The 4 largest-gradient entries of each tensor (the ones a wrong index would get visibly wrong).
      const idx = Array.from({ length: size }, (_, i) => offset + i).sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!)).slice(0, 4);
      for (const i of idx) {
        const eps = 1e-2;
        const p = new Float32Array(params);
        p[i] = params[i]! + eps;
        const up = lossAt(p);
        p[i] = params[i]! - eps;
        const down = lossAt(p);
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(numeric - grad[i]!), `${t.name}[${i - offset}]: analytic ${grad[i]} numeric ${numeric}`).toBeLessThan(0.05 * Math.abs(numeric) + 2e-3);
        checked++;
      }
      offset += size;
    }
    expect(checked).toBe(32);
  });

  it('learns: one epoch of SGD on 1,000 digits raises validation accuracy well above chance', () => {
    const params = cnn.init(1);
    const grad = new Float32Array(CNN_PARAMS);
    // A stride coprime with the pool's size: mixed classes in every batch (the pool is in class order).
    const data = gather(train, Array.from({ length: 1000 }, (_, i) => (i * 4999) % train.n));
    const before = cnn.evaluate(params, validation);
    for (let s = 0; s < 1000; s += 25) {
      grad.fill(0);
      cnn.gradient(params, data, Array.from({ length: 25 }, (_, i) => s + i), grad);
      for (let i = 0; i < params.length; i++) params[i] = params[i]! - 0.3 * grad[i]!;
    }
    const after = cnn.evaluate(params, validation);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.accuracy).toBeGreaterThan(0.5);
  });
});
