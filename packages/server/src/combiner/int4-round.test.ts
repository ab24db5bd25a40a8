/**
 * An int4 session end to end: the session's `encoding: 'int4'` and `rounding` reach the clients in `task.train`,
 * the combiner admits and folds int4 updates (parsed once, on its fold pool), and the committed model is FedAvg
 * of what the int4 frames decode to. Deltas are integers with max |value| 7 per tensor, so their int4 scale is
 * exactly 1 (the tiny model's tensors w0 [4] and w1 [2]) and the expected model is exact.
 */
import { describe, expect, it } from 'vitest';
import { BY_EXAMPLES, SEED } from '../../test/tiny-session.js';
import { serverFixture } from '../../test/fixture.js';
import { fetchModelFlat } from '../testing/harness.js';
import type { TestUpdate } from '../testing/test-client.js';

const UPDATES: Record<string, TestUpdate> = {
  a: { delta: new Float32Array([7, 0, -7, 1, 2, 7]), numExamples: 1, metrics: { loss: 1 } },
  b: { delta: new Float32Array([0, 7, 7, -7, -7, 0]), numExamples: 3, metrics: { loss: 1 } },
};
// Seed [1, 2, 3, 4, 0, 1] + (1 * a + 3 * b) / 4.
const EXPECTED = [2.75, 7.25, 6.5, -1, -4.75, 2.75];

const f = serverFixture(SEED);

describe('an int4 round', () => {
  it('sends encoding int4 and the rounding to clients and commits FedAvg of their int4 updates', async () => {
    const server = await f.setup();
    const clients = await Promise.all(['a', 'b'].map((id) => f.connect(server, { clientId: id, onTrain: () => UPDATES[id]! })));
    const session = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 20_000, encoding: 'int4', rounding: 'stochastic', ...BY_EXAMPLES });
    const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 30_000);
    expect(done.status).toBe('completed');
    for (const c of clients) {
      expect(c.received.find((m) => m.kind === 'task.train')).toMatchObject({ settings: { encoding: 'int4', rounding: 'stochastic' } });
    }
    const [r] = (await server.controller.getSession(session.id)).rounds;
    expect(r).toMatchObject({ status: 'committed', updates: 2, weight: 4 });
    expect([...(await fetchModelFlat(server.url, r!.modelId!))]).toEqual(EXPECTED);
  });
});
