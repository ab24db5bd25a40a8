import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { createRng } from '@fedweb/codec';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { dp } from './index.js';
import { dpEpsilon } from './rdp.js';

runStrategyContract(() => dp);
runStrategyContract(() => dp, { options: { clipNorm: 0.5, noiseMultiplier: 0.3, samplingRate: 0.1, expectedClients: 9 } });

describe('central DP (McMahan et al. 2018)', () => {
  it('clips every update to S and averages uniformly, without noise when z = 0 (hand-computed)', async () => {
    // S = 1. Δ=[3,4] -> [0.6,0.8]; Δ=[0.3,0.4] kept. numExamples (1 and 100) are ignored: uniform weights.
    // sum = [0.9, 1.2]; D = count = 2 -> [0.45, 0.6]; D = expectedClients = 4 -> [0.225, 0.3]
    const ctx = vectorContext(2);
    const ups = [await vectorUpdate([3, 4], 1), await vectorUpdate([0.3, 0.4], 100)];
    const o = dp.optionsSchema.parse({ noiseMultiplier: 0 });
    const r = dp.serverStep(o, dp.initState(o, new Float32Array(2), ctx), new Float32Array(2), await foldVectors(dp, o, ctx, ups), ctx)!;
    expect(r.model[0]).toBeCloseTo(0.45, 6);
    expect(r.model[1]).toBeCloseTo(0.6, 6);
    expect(r.metrics?.clipped).toBe(1);
    expect(r.metrics?.epsilon).toBeUndefined(); // no noise: no finite ε
    const o4 = dp.optionsSchema.parse({ noiseMultiplier: 0, expectedClients: 4 });
    const r4 = dp.serverStep(o4, dp.initState(o4, new Float32Array(2), ctx), new Float32Array(2), await foldVectors(dp, o4, ctx, ups), ctx)!;
    expect(r4.model[0]).toBeCloseTo(0.225, 6);
  });

  it('adds N(0, (zS)²) to the sum, once, from the CSPRNG: the session seed does not determine it', async () => {
    // Zero updates, S = 2, z = 1.5, D = 1: the model is the noise alone, with std 3.
    const n = 20_000;
    const o = dp.optionsSchema.parse({ clipNorm: 2, noiseMultiplier: 1.5, expectedClients: 1 });
    const run = async (): Promise<{ model: Float32Array; noiseStd?: number }> => {
      const ctx = vectorContext(n, 1, 4242); // the same seed both times
      const merged = await foldVectors(dp, o, ctx, [await vectorUpdate(new Array(n).fill(0))]);
      const r = dp.serverStep(o, dp.initState(o, new Float32Array(n), ctx), new Float32Array(n), merged, ctx)!;
      return { model: r.model, ...(r.metrics?.noiseStd !== undefined ? { noiseStd: r.metrics.noiseStd } : {}) };
    };
    const a = await run();
    const b = await run();
    // Same seed, different noise; and not the noise the seeded generator would give.
    expect(Array.from(a.model.subarray(0, 5))).not.toEqual(Array.from(b.model.subarray(0, 5)));
    const seeded = new Float32Array(n);
    createRng(4242).addGaussian(seeded, 3);
    expect(Array.from(a.model.subarray(0, 5))).not.toEqual(Array.from(seeded.subarray(0, 5)));
    // Its moments are N(0, 9)'s: mean within 5 standard errors of 0, std within 3 %.
    let s1 = 0;
    let s2 = 0;
    for (const v of a.model) {
      s1 += v;
      s2 += v * v;
    }
    expect(Math.abs(s1 / n)).toBeLessThan((5 * 3) / Math.sqrt(n));
    expect(Math.sqrt(s2 / n)).toBeGreaterThan(3 * 0.97);
    expect(Math.sqrt(s2 / n)).toBeLessThan(3 * 1.03);
    expect(a.noiseStd).toBe(3);
  });

  it('declares its sampling rate, so that the host samples clients by Poisson sampling with it', () => {
    expect(dp.privacy?.(dp.optionsSchema.parse({ samplingRate: 0.05 }))).toEqual({ samplingRate: 0.05 });
  });

  it('reports ε for δ after each step, composing across steps and restarts', async () => {
    const ctx = vectorContext(2);
    const o = dp.optionsSchema.parse({ noiseMultiplier: 1.1, samplingRate: 0.01, delta: 1e-5 });
    let state = dp.initState(o, new Float32Array(2), ctx);
    let global: Float32Array = new Float32Array(2);
    for (let t = 1; t <= 3; t++) {
      const merged = await foldVectors(dp, o, vectorContext(2, t), [await vectorUpdate([0.1, 0.1])]);
      const r = dp.serverStep(o, state, global, merged, vectorContext(2, t))!;
      expect(r.metrics?.epsilon).toBeCloseTo(dpEpsilon({ q: 0.01, noiseMultiplier: 1.1, steps: t, delta: 1e-5 }), 9);
      // Persist and reload the accountant between rounds.
      const enc = dp.encodeState(r.state);
      state = dp.decodeState(JSON.parse(JSON.stringify(enc.json)), enc.tensors);
      global = r.model;
    }
    expect(state.steps).toBe(3);
  });
});
