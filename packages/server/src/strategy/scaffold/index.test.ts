import { describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { scaffold } from './index.js';

const withControl = (delta: { name: string; shape: number[]; data: Float32Array }[], rng: { addGaussian(a: Float32Array, s: number): void }) =>
  delta.map((t) => {
    const data = new Float32Array(t.data.length);
    rng.addGaussian(data, 0.05);
    return { name: `c/${t.name}`, shape: [...t.shape], data };
  });

runStrategyContract(() => scaffold, { extraTensors: withControl });
runStrategyContract(() => scaffold, { extraTensors: withControl, options: { numClients: 50, serverLearningRate: 0.5 } });

const cv = (v: number[]) => [{ name: 'c/w0', shape: [v.length], data: Float32Array.from(v) }];

describe('scaffold (Karimireddy et al. 2020)', () => {
  it('updates x with the weighted mean Δy and c with Σ Δc / N (hand-computed)', async () => {
    // A: n=1, Δy=[1,0], Δc=[0.2,0.4];  B: n=3, Δy=[−1,2], Δc=[0.6,−0.4];  c = [0.1, 0.1]; η_g = 1.
    // x: Σ n Δy = [1−3, 0+6] = [−2, 6]; /4 -> [−0.5, 1.5]; [10, 20] -> [9.5, 21.5]
    // c: Σ Δc = [0.8, 0];  N = 4 -> c + [0.2, 0] = [0.3, 0.1];  N = |S| = 2 -> [0.5, 0.1]
    const ctx = vectorContext(2);
    const ups = [await vectorUpdate([1, 0], 1, 0, cv([0.2, 0.4])), await vectorUpdate([-1, 2], 3, 0, cv([0.6, -0.4]))];
    const state = { c: new Float32Array([0.1, 0.1]) };
    const o4 = scaffold.optionsSchema.parse({ numClients: 4 });
    const r4 = scaffold.serverStep(o4, state, new Float32Array([10, 20]), await foldVectors(scaffold, o4, ctx, ups), ctx)!;
    expect(Array.from(r4.model)).toEqual([9.5, 21.5]);
    expect(r4.state.c[0]).toBeCloseTo(0.3, 6);
    expect(r4.state.c[1]).toBeCloseTo(0.1, 6);
    const o = scaffold.optionsSchema.parse({});
    const r2 = scaffold.serverStep(o, state, new Float32Array([10, 20]), await foldVectors(scaffold, o, ctx, ups), ctx)!;
    expect(r2.state.c[0]).toBeCloseTo(0.5, 6);
    expect(Array.from(state.c)).toEqual([Math.fround(0.1), Math.fround(0.1)]); // input state untouched
  });

  it('refuses an update without control-variate deltas (client does not speak SCAFFOLD)', async () => {
    const ctx = vectorContext(2);
    const o = scaffold.optionsSchema.parse({});
    await expect(foldVectors(scaffold, o, ctx, [await vectorUpdate([1, 0])])).rejects.toSatisfy((e) => isFedError(e, 'SHAPE_MISMATCH'));
  });

  it('ships c to clients as c/<name> tensors and announces itself in configureFit', () => {
    const ctx = { ...vectorContext(3), layout: [{ name: 'w0', shape: [2] }, { name: 'w1', shape: [1] }] };
    const o = scaffold.optionsSchema.parse({});
    const t = scaffold.clientTensors!(o, { c: new Float32Array([1, 2, 3]) }, ctx);
    expect(t.map((x) => [x.name, x.shape, Array.from(x.data)])).toEqual([['c/w0', [2], [1, 2]], ['c/w1', [1], [3]]]);
    expect(scaffold.configureFit(o, { c: new Float32Array(3) }, ctx)).toEqual({ scaffold: { version: 1, controlPrefix: 'c/' } });
  });
});
