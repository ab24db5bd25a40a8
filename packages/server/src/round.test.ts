import { describe, expect, it } from 'vitest';
import { BY_EXAMPLES, SEED } from '../test/tiny-session.js';
import { serverFixture } from '../test/fixture.js';
import { startCombiner, type CombinerServer } from './combiner/process.js';
import type { FedServer } from './server.js';
import { fetchModelFlat, until } from './testing/harness.js';
import type { TestClient, TestUpdate } from './testing/test-client.js';

// Three clients' deltas and example counts.
const UPDATES: Record<string, TestUpdate> = {
  a: { delta: new Float32Array([1, 1, 1, 1, 1, 1]), numExamples: 1, encoding: 'f32', metrics: { loss: 2 } },
  b: { delta: new Float32Array([2, 0, -2, 4, 8, 0]), numExamples: 3, encoding: 'f32', metrics: { loss: 1 } },
  c: { delta: new Float32Array([0, 4, 2, 0, -4, 2]), numExamples: 4, encoding: 'f32', metrics: { loss: 0.5 } },
};
// FedAvg by hand: sum n_i * delta_i = [7, 17, 3, 13, 9, 9], sum n_i = 8, mean = [0.875, 2.125, 0.375, 1.625, 1.125, 1.125];
// new global = seed + mean.
const EXPECTED = [1.875, 4.125, 3.375, 5.625, 1.125, 2.125];
// Example-weighted mean training loss: (2*1 + 1*3 + 0.5*4) / 8 = 0.875.
const EXPECTED_LOSS = 0.875;

const f = serverFixture(SEED);
const setup = (): Promise<FedServer> => f.setup();

function connect(server: FedServer, id: string, update: (task: unknown) => TestUpdate | null = () => UPDATES[id] as TestUpdate): Promise<TestClient> {
  return f.connect(server, { clientId: id, onTrain: (task) => update(task) });
}

async function runOneRound(server: FedServer, config: Record<string, unknown> = {}) {
  const session = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 20_000, encoding: 'f32', ...config });
  const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 30_000);
  const detail = await server.controller.getSession(session.id);
  return { session: done, rounds: detail.rounds };
}

describe('a federated round', () => {
  it('computes FedAvg by hand with one (embedded) combiner', async () => {
    const server = await setup();
    for (const id of ['a', 'b', 'c']) await connect(server, id);
    const { session, rounds } = await runOneRound(server, BY_EXAMPLES);
    expect(session.status).toBe('completed');
    expect(rounds).toHaveLength(1);
    const r = rounds[0]!;
    expect(r.status).toBe('committed');
    expect(r.updates).toBe(3);
    expect(r.weight).toBe(8);
    expect(r.trainMetrics.loss).toBeCloseTo(EXPECTED_LOSS, 12);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(EXPECTED);

    // The trail: the new model's parent is the seed model, with its SHA-256 and round.
    const trail = await server.controller.modelTrail(session.id);
    expect(trail).toHaveLength(1);
    expect(trail[0]!.parentId).toBe(session.initialModelId);
    expect(trail[0]!.round).toBe(1);
    expect(trail[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same model with three combiners (example-weighted merge of partials)', async () => {
    const server = await setup();
    const combiners: CombinerServer[] = [];
    for (const name of ['c2', 'c3']) {
      const c = await startCombiner({ controllerUrl: server.url, name, logger: false });
      f.defer(() => c.close());
      await c.waitConnected();
      combiners.push(c);
    }
    await until(() => server.registry.list().length === 3, 10_000, 'three combiners');
    const clients = [];
    for (const id of ['a', 'b', 'c']) clients.push(await connect(server, id));
    // Least-loaded discovery spreads the three clients over the three combiners.
    expect(new Set(clients.map((c) => c.combinerId)).size).toBe(3);
    await until(() => server.registry.list().every((c) => c.clients.size === 1), 10_000, 'status from every combiner');
    const { rounds } = await runOneRound(server, BY_EXAMPLES);
    const r = rounds[0]!;
    expect(r.status).toBe('committed');
    expect(r.partials).toHaveLength(3);
    expect(r.updates).toBe(3);
    expect(r.weight).toBe(8);
    expect(r.trainMetrics.loss).toBeCloseTo(EXPECTED_LOSS, 12);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(EXPECTED);
  });

  it('decays the clients\' learning rate per round (learningRateDecay), and keeps it constant by default', async () => {
    const server = await setup();
    const seen: number[] = [];
    await connect(server, 'a', (task) => {
      seen.push((task as { settings: { learningRate: number } }).settings.learningRate);
      return UPDATES['a'] as TestUpdate;
    });
    const decayed = await server.controller.startSession({ rounds: 3, roundTimeoutMs: 20_000, encoding: 'f32', learningRate: 0.2, learningRateDecay: 0.5 });
    expect((await server.controller.waitForSession(decayed.id, ['completed', 'failed', 'stopped'], 30_000)).status).toBe('completed');
    expect(seen).toEqual([0.2, 0.1, 0.05]);
    seen.length = 0;
    const constant = await server.controller.startSession({ rounds: 2, roundTimeoutMs: 20_000, encoding: 'f32', learningRate: 0.2 });
    expect((await server.controller.waitForSession(constant.id, ['completed', 'failed', 'stopped'], 30_000)).status).toBe('completed');
    expect(seen).toEqual([0.2, 0.2]);
    await expect(server.controller.startSession({ rounds: 1, learningRateDecay: 1.5 })).rejects.toThrow(/learningRateDecay/);
  });
});
