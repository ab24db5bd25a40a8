import { describe, expect, it } from 'vitest';
import { LAYOUT, SEED } from '../test/tiny-session.js';
import { serverFixture } from '../test/fixture.js';
import { startCombiner } from './combiner/process.js';
import type { FedServer } from './server.js';
import { fetchModelFlat, until } from './testing/harness.js';
import type { TestClient, TestUpdate, TrainTask } from './testing/test-client.js';

const up = (d: number[]): TestUpdate => ({ delta: new Float32Array(d), numExamples: 5, encoding: 'f32' });

const f = serverFixture(SEED);

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual[i], `index ${i}`).toBeCloseTo(v, 5));
}

describe('asynchronous sessions (FedBuff)', () => {
  it('steps every K = 3 forwarded updates, weighting stale ones, and refuses updates beyond maxStaleness', async () => {
    const server: FedServer = await f.setup();
    // Every client trains nothing by itself: the test sends each update explicitly, in a known order.
    const connect = (id: string): Promise<TestClient> => f.connect(server, { clientId: id, onTrain: () => null });
    const [a, b, c, d] = [await connect('a'), await connect('b'), await connect('c'), await connect('d')];
    const tasks = (cl: TestClient): TrainTask[] => cl.received.filter((m): m is TrainTask => m.kind === 'task.train');
    const taskOf = (cl: TestClient, n: number): Promise<TrainTask> => until(() => tasks(cl)[n], 20_000, `${cl.clientId}'s task #${n + 1}`);
    const send = async (cl: TestClient, task: TrainTask, update: TestUpdate): Promise<void> => {
      const ack = cl.waitFor('update.ack', (m) => m.roundId === task.roundId, 20_000);
      await cl.sendUpdate(task, update, LAYOUT);
      await ack;
    };
    const trail = async () => server.controller.modelTrail(s.id);

    // K = 3, s(τ) = 1/(1+τ) (exponent 1, so the weights are exact), updates older than 1 version refused.
    const s = await server.controller.startSession({
      rounds: 3,
      encoding: 'f32',
      roundTimeoutMs: 60_000,
      strategy: { name: 'fedbuff', options: { bufferSize: 3, maxStaleness: 1, stalenessExponent: 1 } },
    });
    const [ta0, tb0, tc0, td0] = await Promise.all([taskOf(a, 0), taskOf(b, 0), taskOf(c, 0), taskOf(d, 0)]);
    // Version 1 from three fresh updates (τ = 0): seed + (Δa + Δb + Δc) / 3.
    await send(a, ta0, up([1, 1, 1, 1, 1, 1]));
    await send(b, tb0, up([2, 0, -2, 4, 8, 0]));
    // a and b were given their next task at once, still on version 0 (no version 1 yet).
    const [ta1, tb1] = await Promise.all([taskOf(a, 1), taskOf(b, 1)]);
    await send(c, tc0, up([0, 4, 2, 0, -4, 2]));
    await until(async () => (await trail()).length === 1, 20_000, 'version 1');
    // sum = [3, 5, 1, 5, 5, 3]; / 3; seed [1, 2, 3, 4, 0, 1] +.
    const v1 = [2, 2 + 5 / 3, 3 + 1 / 3, 4 + 5 / 3, 5 / 3, 2];
    const [m1] = await trail();
    expectClose(await fetchModelFlat(server.url, m1!.id), v1);
    expect(m1!.metrics['server.meanStaleness']).toBe(0);
    expect(m1!.metrics.updates).toBe(3);

    // The combiner has version 1 now; a client that joins gets a task on it (τ = 0).
    await until(() => server.combiner?.asyncStream?.round === 2, 20_000, 'the combiner to know version 1');
    const late = await connect('late');
    const tl = await taskOf(late, 0);
    expect(tl.model.id).toBe(m1!.id);
    expect(ta1.model.id).toBe(s.initialModelId);
    // Version 2: late fresh (weight 1), a's second task and d's first both trained on version 0 (τ = 1, weight 1/2).
    await send(late, tl, up([3, 0, 0, 3, 0, 0]));
    await send(a, ta1, up([2, 2, 2, 2, 2, 2]));
    await send(d, td0, up([0, -4, 4, 0, 6, 2]));
    await until(async () => (await trail()).length === 2, 20_000, 'version 2');
    // sum = [3,0,0,3,0,0] + ½[2,2,2,2,2,2] + ½[0,-4,4,0,6,2] = [3,0,0,3,0,0] + [1,1,1,1,1,1] + [0,-2,2,0,3,1]
    //     = [4, -1, 3, 4, 4, 2]; divided by K = 3 (Σ wᵢ, not Σ s(τᵢ)wᵢ: stale updates move the model less).
    const v2 = v1.map((x, i) => x + ([4, -1, 3, 4, 4, 2][i] as number) / 3);
    const m2 = (await trail())[1]!;
    expect(m2.parentId).toBe(m1!.id);
    expectClose(await fetchModelFlat(server.url, m2.id), v2);
    expect(m2.metrics['server.meanStaleness']).toBeCloseTo(2 / 3, 12);

    // b's second task is on version 0 and version 2 is out: τ = 2 > maxStaleness 1, refused, not counted.
    await until(() => server.combiner?.asyncStream?.round === 3, 20_000, 'the combiner to know version 2');
    const refused = b.waitFor('error', (m) => m.code === 'STALE_ROUND', 20_000);
    await b.sendUpdate(tb1, up([100, 100, 100, 100, 100, 100]), LAYOUT);
    await refused;
    // ... and b is sent a fresh task on the newest version.
    const tb2 = await taskOf(b, 2);
    expect(tb2.model.id).toBe(m2.id);

    // Exactly two new versions from the six counted updates; the session still waits for version 3.
    await server.controller.stopSession(s.id);
    await server.controller.waitForSession(s.id, ['stopped']);
    const models = await trail();
    expect(models.map((m) => m.id)).toEqual([m1!.id, m2.id]);
    const rounds = (await server.controller.getSession(s.id)).rounds;
    expect(rounds.filter((r) => r.status === 'committed').map((r) => [r.round, r.updates, r.weight])).toEqual([
      [1, 3, 3],
      [2, 3, 3],
    ]);
    expect(rounds.find((r) => r.round === 3)?.updates ?? 0).toBe(0);
    // The stream is closed on the combiner: the outstanding tasks were cancelled.
    await until(() => server.combiner?.asyncStream === null, 10_000, 'the stream to close');
    await c.waitFor('task.cancel', () => true, 10_000, true);
  });

  it('merges updates forwarded by two combiners into one buffer and completes after `rounds` versions', async () => {
    // x on the embedded combiner, y on c2.
    const server: FedServer = await f.setup({ discoveryPolicy: (id: string) => (id === 'y' ? 'c2' : 'embedded') });
    const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2', port: 0, logLevel: 'warn' });
    f.defer(() => c2.close());
    await c2.waitConnected();
    const once = (d: number[]) => {
      let sent = false;
      return (): TestUpdate | null => {
        if (sent) return null;
        sent = true;
        return { ...up(d), numExamples: 1 };
      };
    };
    const x = await f.connect(server, { clientId: 'x', onTrain: once([2, 2, 2, 2, 2, 2]) });
    const y = await f.connect(server, { clientId: 'y', onTrain: once([0, 4, 0, 4, 0, 4]) });
    expect([x.combinerId, y.combinerId]).toEqual(['embedded', 'c2']);
    await until(() => server.registry.get('c2')?.clients.has('y'), 10_000, 'y on c2');
    const s = await server.controller.startSession({ rounds: 1, encoding: 'f32', strategy: { name: 'fedbuff', options: { bufferSize: 2 } } });
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed', 'stopped'], 30_000);
    expect(done.status).toBe('completed');
    const [m1, ...rest] = await server.controller.modelTrail(s.id);
    expect(rest).toHaveLength(0);
    // Both fresh (τ = 0): seed + ([2,2,2,2,2,2] + [0,4,0,4,0,4]) / 2.
    expectClose(await fetchModelFlat(server.url, m1!.id), [2, 5, 4, 7, 1, 4]);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(r.partials.map((p) => [p.combinerId, p.count]).sort()).toEqual([
      ['c2', 1],
      ['embedded', 1],
    ]);
    // The session is over: both combiners closed the stream.
    await until(() => server.combiner?.asyncStream === null && c2.combiner.asyncStream === null, 10_000, 'streams closed');
  });
});
