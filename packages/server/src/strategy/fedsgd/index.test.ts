import { describe, expect, it } from 'vitest';
import { encodeFrame } from '@fedweb/codec';
import { gather, loadMnist } from '../../sim/mnist.js';
import { parseSplit, partition } from '../../sim/split.js';
import { runStrategyContract } from '../contract.js';
import { localGradient } from '../local-train.js';
import { LOGREG_PARAMS } from '../logreg.js';
import { simulate } from '../testing.js';
import { foldVectors, vectorContext } from '../test-utils.js';
import type { ClientUpdate } from '../types.js';
import { fedsgd } from './index.js';

runStrategyContract(() => fedsgd);
runStrategyContract(() => fedsgd, { options: { optimizer: 'adam', lr: 0.01, batches: 0, reduce: 'sum' } });
runStrategyContract(() => fedsgd, { options: { optimizer: 'momentum', lr: 0.05, momentum: 0.5, lrDecay: 0.9 } });

/** A gradient sent the way clients send it: an int8 frame. */
async function int8Update(g: number[], numExamples: number): Promise<ClientUpdate> {
  const frame = await encodeFrame([{ name: 'w0', shape: [g.length], data: Float32Array.from(g) }], { encoding: 'int8' });
  return { clientId: `c${numExamples}`, frame, numExamples, staleness: 0 };
}

describe('fedsgd: one server step (hand-computed)', () => {
  const ctx = vectorContext(3);
  const x = new Float32Array([1, 2, 3]);
  // Both gradients have largest magnitude 1.27, so the int8 scale is 0.01 and every value is exact on the wire.
  // Example-weighted mean over n = 3 and n = 1: (3·[1.27, 0.5, −0.3] + [−1.27, 0.1, 0.7]) / 4 = [0.635, 0.4, −0.05].
  const updates = () => Promise.all([int8Update([1.27, 0.5, -0.3], 3), int8Update([-1.27, 0.1, 0.7], 1)]);

  it('tells clients to send gradients (settings.strategy.fedsgd)', () => {
    const o = fedsgd.optionsSchema.parse({ batches: 4, reduce: 'sum' });
    expect(fedsgd.configureFit(o, fedsgd.initState(o, x, ctx), ctx)).toEqual({ fedsgd: { version: 1, batches: 4, reduce: 'sum' } });
  });

  it('SGD: x − η ḡ', async () => {
    const o = fedsgd.optionsSchema.parse({ optimizer: 'sgd', lr: 0.1 });
    const merged = await foldVectors(fedsgd, o, ctx, await updates());
    const r = fedsgd.serverStep(o, fedsgd.initState(o, x, ctx), x, merged, ctx)!;
    // [1 − 0.0635, 2 − 0.04, 3 + 0.005]
    expect(r.model[0]).toBeCloseTo(0.9365, 5);
    expect(r.model[1]).toBeCloseTo(1.96, 5);
    expect(r.model[2]).toBeCloseTo(3.005, 5);
    expect(r.metrics).toMatchObject({ updates: 2, weight: 4, lr: 0.1 });
  });

  it('momentum: m = β m + ḡ, x − η m over two steps; lrDecay scales the second', async () => {
    const o = fedsgd.optionsSchema.parse({ optimizer: 'momentum', lr: 0.1, momentum: 0.9, lrDecay: 0.5 });
    const merged = await foldVectors(fedsgd, o, ctx, await updates());
    const s0 = fedsgd.initState(o, x, ctx);
    const r1 = fedsgd.serverStep(o, s0, x, merged, ctx)!;
    const r2 = fedsgd.serverStep(o, r1.state, r1.model, merged, { ...ctx, round: 2 })!;
    // step 1: m = ḡ, x1 = x − 0.1 ḡ; step 2: m = 1.9 ḡ, x2 = x1 − 0.05 · 1.9 ḡ = x − 0.195 ḡ
    expect(r2.model[0]).toBeCloseTo(1 - 0.195 * 0.635, 5);
    expect(r2.model[2]).toBeCloseTo(3 + 0.195 * 0.05, 5);
    expect(r2.state.step).toBe(2);
    expect(Array.from(s0.m)).toEqual([0, 0, 0]); // the input state was not mutated
  });

  it('Adam: the first bias-corrected step is η · sign(ḡ)', async () => {
    const o = fedsgd.optionsSchema.parse({ optimizer: 'adam', lr: 0.1 });
    const merged = await foldVectors(fedsgd, o, ctx, await updates());
    const r = fedsgd.serverStep(o, fedsgd.initState(o, x, ctx), x, merged, ctx)!;
    // m̂ = ḡ, v̂ = ḡ², so the step is η ḡ / (|ḡ| + ε) = η sign(ḡ).
    expect(r.model[0]).toBeCloseTo(0.9, 5);
    expect(r.model[1]).toBeCloseTo(1.9, 5);
    expect(r.model[2]).toBeCloseTo(3.1, 5);
  });

  it('state survives a controller restart (encode / decode)', async () => {
    const o = fedsgd.optionsSchema.parse({ optimizer: 'adam' });
    const merged = await foldVectors(fedsgd, o, ctx, await updates());
    const r = fedsgd.serverStep(o, fedsgd.initState(o, x, ctx), x, merged, ctx)!;
    const { json, tensors } = fedsgd.encodeState(r.state);
    const back = fedsgd.decodeState(JSON.parse(JSON.stringify(json)), tensors);
    expect(back.step).toBe(1);
    expect(Array.from(back.v)).toEqual(Array.from(r.state.v));
  });
});

describe('fedsgd: the client side (localGradient)', () => {
  // Two examples with one pixel each; at w = 0 every class has p = 0.1, so dL/db_k = 0.1 − [k = label].
  const x = new Float32Array(2 * 784);
  x[0] = 1;
  x[784 + 1] = 1;
  const data = { x, y: Int32Array.from([3, 7]), n: 2 };
  const w = new Float32Array(LOGREG_PARAMS);
  const bias = 7840;

  it('sum of two one-example batches: both examples count once', () => {
    const { gradient, numExamples } = localGradient(w, data, { batches: 2, batchSize: 1, reduce: 'sum', seed: 1 });
    expect(numExamples).toBe(2);
    expect(gradient[bias + 3]).toBeCloseTo(0.2 - 1, 6);
    expect(gradient[bias + 7]).toBeCloseTo(0.2 - 1, 6);
    expect(gradient[bias + 0]).toBeCloseTo(0.2, 6);
    // weight (pixel 0, class 3) only sees example 0: 1 · (0.1 − 1)
    expect(gradient[0 * 10 + 3]).toBeCloseTo(-0.9, 6);
  });

  it('mean of the batch gradients is the sum / batches, and equals one full batch here', () => {
    const mean = localGradient(w, data, { batches: 2, batchSize: 1, reduce: 'mean', seed: 1 }).gradient;
    const full = localGradient(w, data, { batches: 0, batchSize: 1, reduce: 'mean', seed: 1 }).gradient;
    expect(mean[bias + 3]).toBeCloseTo((0.2 - 1) / 2, 6);
    for (let i = 0; i < mean.length; i++) expect(mean[i]).toBeCloseTo(full[i]!, 6);
  });
});

describe('fedsgd: convergence on MNIST logistic regression (int8 gradients, 2 combiners, non-IID)', () => {
  it('reaches > 80% test accuracy in 30 rounds of full-batch gradients with server Adam', async () => {
    const { train, test } = loadMnist();
    const clients = partition(train.y, 6, parseSplit('dirichlet:0.5'), 3).map((ix) => gather(train, ix.slice(0, 200)));
    const r = await simulate({
      strategy: fedsgd,
      options: { optimizer: 'adam', lr: 0.05, batches: 0 },
      clients,
      test: gather(test, Array.from({ length: 500 }, (_, i) => i * 4)),
      rounds: 30,
      local: { epochs: 1, batchSize: 64, learningRate: 0 },
      seed: 2,
      combiners: 2,
      encoding: 'int8',
    });
    console.info(`[fedsgd] accuracy per round: ${r.history.map((h) => h.accuracy.toFixed(3)).join(' ')}`);
    expect(r.history.at(-1)!.accuracy).toBeGreaterThan(0.8);
    expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss);
  });
});
