import { describe, expect, it } from 'vitest';
import { runStrategyContract } from '../contract.js';
import { foldVectors, vectorContext, vectorUpdate } from '../test-utils.js';
import { fedavgm } from './index.js';

runStrategyContract(() => fedavgm);
runStrategyContract(() => fedavgm, { options: { optimizer: 'adam', lr: 0.01 } });

describe('fedavgm: server momentum on the mean delta (hand-computed)', () => {
  it('m = β m + Δ, x + η m; with SGD and η = 1 it is FedAvg', async () => {
    const ctx = vectorContext(2);
    const x = new Float32Array([1, 2]);
    const o = fedavgm.optionsSchema.parse({ momentum: 0.5, lr: 1 });
    // mean delta over n = 1 and n = 3: (1·[0.4, 0] + 3·[0, −0.4]) / 4 = [0.1, −0.3]
    const merged = await foldVectors(fedavgm, o, ctx, [await vectorUpdate([0.4, 0], 1), await vectorUpdate([0, -0.4], 3)]);
    const r1 = fedavgm.serverStep(o, fedavgm.initState(o, x, ctx), x, merged, ctx)!;
    expect(r1.model[0]).toBeCloseTo(1.1, 6);
    const r2 = fedavgm.serverStep(o, r1.state, r1.model, merged, ctx)!;
    // m = 0.5·Δ + Δ = 1.5 Δ: x2 = x1 + 1.5 Δ = x + 2.5 Δ
    expect(r2.model[0]).toBeCloseTo(1.25, 6);
    expect(r2.model[1]).toBeCloseTo(2 - 0.75, 6);
    const plain = fedavgm.optionsSchema.parse({ optimizer: 'sgd', lr: 1 });
    expect(Array.from(fedavgm.serverStep(plain, fedavgm.initState(plain, x, ctx), x, merged, ctx)!.model)).toEqual([Math.fround(1.1), Math.fround(1.7)]);
  });
});
