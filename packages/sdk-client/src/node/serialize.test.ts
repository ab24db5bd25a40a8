import { describe, expect, it } from 'vitest';
import { FakeTrainers } from '../client/testing/fake-trainer.js';
import { serializeTrainer } from './serialize.js';

describe('serializeTrainer', () => {
  it('runs the calls of several in-process trainers one at a time, while abort goes straight through', async () => {
    const fakes = new FakeTrainers();
    const a = serializeTrainer(fakes.factory());
    const b = serializeTrainer(fakes.factory());
    fakes.hold = true;
    const started = fakes.trainStarted();
    const model = new Uint8Array([1, 2, 3]).buffer;
    const settings = { localEpochs: 1, batchSize: 1, learningRate: 0.1, encoding: 'int8' as const, strategy: {}, extra: {} };
    await a.api.setData({ x: new Float32Array(2), xShape: [1], y: new Int32Array(2), yShape: [] });
    const ta = a.api.train({ roundId: 'ra', model, settings });
    await started;
    // b's call waits for a's training: it has not reached the trainer yet.
    const tb = b.api.validate(new Uint8Array([9]).buffer);
    await new Promise((r) => setTimeout(r, 50));
    expect(fakes.calls.filter((c) => c.startsWith('validate'))).toEqual([]);
    // abort is not queued behind the running call (it would deadlock): it ends a's training.
    await a.api.abort('stop');
    await expect(ta).rejects.toMatchObject({ code: 'ABORTED' });
    await tb;
    expect(fakes.calls).toEqual(['setData:2', 'train:ra', 'abort', 'validate:1']);
  });
});
