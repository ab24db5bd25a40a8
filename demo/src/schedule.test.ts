import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type TrainSettings } from '@fedweb/codec';
import { trainOnSchedule, type TrainCall } from './schedule.js';

/** A fake trainer whose update is learningRate * localEpochs on every weight, recording each call. */
function fakeTrainer() {
  const calls: TrainSettings[] = [];
  const train: TrainCall = async (model, settings) => {
    calls.push(settings);
    const [w] = await decodeFrame(new Uint8Array(model));
    const delta = new Float32Array(w!.data.length).fill(settings.learningRate * settings.localEpochs);
    return { update: (await encodeFrame([{ name: 'w0', shape: w!.shape, data: delta }], { encoding: 'f32' })).slice().buffer, numExamples: 10, trainMs: 1, metrics: { loss: 0 } };
  };
  return { calls, train };
}

describe('trainOnSchedule', async () => {
  const seed = await encodeFrame([{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }], { encoding: 'f32' });
  const base = { rounds: 3, epochsPerRound: 2, batchSize: 8, extra: { optimizer: 'momentum' } };

  it('trains once for rounds x epochs at a constant rate', async () => {
    const t = fakeTrainer();
    const r = await trainOnSchedule(t.train, seed, { ...base, learningRate: 0.1, learningRateDecay: 1 });
    expect(t.calls.map((c) => [c.localEpochs, c.learningRate])).toEqual([[6, 0.1]]);
    expect(t.calls[0]!.extra).toEqual({ optimizer: 'momentum' });
    expect(Array.from((await decodeFrame(r.model))[0]!.data)).toEqual([1 + 0.6, 2 + 0.6].map(Math.fround));
  });

  it('with a decay, trains one call per round at lr * decay^r, each from the previous model', async () => {
    const t = fakeTrainer();
    const rounds: number[] = [];
    const r = await trainOnSchedule(t.train, seed, { ...base, learningRate: 0.4, learningRateDecay: 0.5, onRound: (k) => rounds.push(k) });
    expect(t.calls.map((c) => [c.localEpochs, c.learningRate])).toEqual([[2, 0.4], [2, 0.2], [2, 0.1]]);
    expect(rounds).toEqual([1, 2, 3]);
    const w = (await decodeFrame(r.model))[0]!.data;
    expect(w[0]).toBeCloseTo(1 + 2 * (0.4 + 0.2 + 0.1), 5);
    expect(w[1]).toBeCloseTo(2 + 2 * (0.4 + 0.2 + 0.1), 5);
  });
});
