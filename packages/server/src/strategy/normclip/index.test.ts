import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { clipInPlace, normclip } from './index.js';

runStrategyContract(() => normclip);
runStrategyContract(() => normclip, { options: { maxNorm: 0.3 } });

describe('norm clipping (Sun et al. 2019)', () => {
  it('clips in place', () => {
    const d = new Float32Array([3, 4]);
    expect(clipInPlace(d, 1)).toBe(5);
    expect(d[0]).toBeCloseTo(0.6, 6);
    expect(d[1]).toBeCloseTo(0.8, 6);
  });

  it('fixed bound: clips each update to M, then the example-weighted mean (hand-computed)', async () => {
    // M = 1. n=1 Δ=[3,4] (‖Δ‖=5 -> [0.6, 0.8]); n=3 Δ=[0.3,0.4] (‖Δ‖=0.5, kept)
    // sum = [0.6 + 0.9, 0.8 + 1.2] = [1.5, 2.0]; / 4 -> [0.375, 0.5]
    const ctx = vectorContext(2);
    const o = normclip.optionsSchema.parse({ maxNorm: 1 });
    const ups = [await vectorUpdate([3, 4], 1), await vectorUpdate([0.3, 0.4], 3)];
    const out = normclip.serverStep(o, {}, new Float32Array([0, 0]), await foldVectors(normclip, o, ctx, ups), ctx)!;
    expect(out.model[0]).toBeCloseTo(0.375, 6);
    expect(out.model[1]).toBeCloseTo(0.5, 6);
    expect(out.metrics).toMatchObject({ clipped: 1, clipNorm: 1 });
  });

  it('median-norm bound (default): clips to the round median norm (hand-computed)', async () => {
    // norms 5, 0.5, 1 -> median 1 = M. [3,4] -> [0.6,0.8]; [0.3,0.4] kept; [0,1] kept (norm = M)
    // all n = 1: sum = [0.9, 2.2] / 3 = [0.3, 0.733333]
    const ctx = vectorContext(2);
    const o = normclip.optionsSchema.parse({});
    const ups = [await vectorUpdate([3, 4]), await vectorUpdate([0.3, 0.4]), await vectorUpdate([0, 1])];
    const out = normclip.serverStep(o, {}, new Float32Array([0, 0]), await foldVectors(normclip, o, ctx, ups), ctx)!;
    expect(out.model[0]).toBeCloseTo(0.3, 6);
    expect(out.model[1]).toBeCloseTo(0.7333333, 6);
    expect(out.metrics).toMatchObject({ clipped: 1, clipNorm: 1 });
  });
});
