import { describe, expect, it } from 'vitest';
import { startCombiner } from './combiner/process.js';
import { fetchModelFlat, until } from './testing/harness.js';
import type { TestUpdate, TrainTask } from './testing/test-client.js';
import { serverFixture } from '../test/fixture.js';

// Seed model: w0 = [1, 2, 3, 4], w1 = [0, 1] (6 parameters).
const SEED = [
  { name: 'w0', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'w1', shape: [2], data: new Float32Array([0, 1]) },
];
const seedPlus = (d: number): number[] => [1, 2, 3, 4, 0, 1].map((v) => v + d);
const ONES: TestUpdate = { delta: new Float32Array(6).fill(1), numExamples: 1, encoding: 'f32' };
const TWOS: TestUpdate = { delta: new Float32Array(6).fill(2), numExamples: 3, encoding: 'f32' };

const { setup, connect, defer } = serverFixture(SEED);

describe('reconnect grace', () => {
  it('keeps the slot of a lone client that drops mid-upload; its resumed upload counts, the partial one never does', async () => {
    // Default grace (15 s): without it the drop would close the round at once with no update (a failed round).
    const server = await setup();
    const tasks: TrainTask[] = [];
    const a = await connect(server, {
      clientId: 'a',
      onTrain: (task) => {
        tasks.push(task);
        // First connection: a reload mid-upload (3 chunks of 16 bytes sent, then the socket dies, no close
        // handshake); the test client reconnects with the same id and the combiner sends the task again.
        if (tasks.length === 1) return { delta: new Float32Array(6).fill(500), numExamples: 500, encoding: 'f32', chunkSize: 16, stopAfterChunks: 3 };
        return ONES;
      },
    });
    const s = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 30_000, encoding: 'f32' });
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 25_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.status).toBe('committed');
    expect(r.updates).toBe(1);
    expect(r.weight).toBe(1);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1));
    // The same task (same taskId) came back on the second connection.
    expect(a.connections).toBe(2);
    expect(tasks).toHaveLength(2);
    expect(tasks[1]!.taskId).toBe(tasks[0]!.taskId);
    expect(server.combiner?.health().inflightBytes).toBe(0);
  });

  it('counts an update once when its client reconnects after the ack was lost and sends it again', async () => {
    const server = await setup();
    let first: TrainTask | null = null;
    const a = await connect(server, {
      clientId: 'a',
      onTrain: (task) => {
        first ??= task;
        return task === first ? ONES : null;
      },
    });
    // b answers late, so the round is still open while a reconnects and resends.
    const b = await connect(server, { clientId: 'b', onTrain: () => null });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 30_000, encoding: 'f32' });
    await a.waitFor('update.ack', () => true, 20_000, true);
    a.drop();
    const welcome = await a.waitFor('welcome', () => true, 20_000);
    // It delivered already: no task is pending for it.
    expect(welcome.openRoundId).toBeUndefined();
    const dup = a.waitFor('error', (m) => m.code === 'DUPLICATE_UPDATE', 20_000);
    await a.sendUpdate(first!, ONES, SEED.map((t) => ({ name: t.name, shape: t.shape })));
    await dup;
    const bTask = await b.waitFor('task.train', () => true, 20_000, true);
    await b.sendUpdate(bTask, TWOS, SEED.map((t) => ({ name: t.name, shape: t.shape })));
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 25_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.updates).toBe(2);
    expect(r.weight).toBe(4);
    // (1*1 + 3*2) / 4 = 1.75: a's update once, not twice ((2*1 + 3*2) / 5 = 1.6 would be a double count).
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1.75));
  });

  it('closes the part when the client does not come back within the grace, and the grace never outlives the deadline', async () => {
    // Grace longer than the deadline: the round ends on its deadline, not after the grace.
    const server = await setup({ combiner: { reconnectGraceMs: 60_000 } });
    await connect(server, {
      clientId: 'gone',
      onTrain: (_task, ctx) => {
        ctx.client.kill();
        return null;
      },
    });
    const s = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 1500, encoding: 'f32' });
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 20_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.status).toBe('failed');
    expect(r.updates).toBe(0);
  });

  it('sends a returning client back to the combiner it left (where its slot is), not where the policy would', async () => {
    // A policy that sends 'x' to the embedded combiner the first time and to c2 afterwards.
    let asked = 0;
    const server = await setup({ discoveryPolicy: (id: string, cs: Array<{ id: string }>) => (id === 'x' && asked++ === 0 ? 'embedded' : (cs.find((c) => c.id === 'c2')?.id ?? null)) });
    const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2', port: 0, logLevel: 'warn' });
    defer(() => c2.close());
    await c2.waitConnected();
    const x = await connect(server, { clientId: 'x', autoReconnect: false });
    expect(x.combinerId).toBe('embedded');
    await until(() => server.registry.get('embedded')?.clients.has('x'), 10_000, 'x in the status');
    x.drop();
    await until(() => server.registry.get('embedded')?.clients.has('x') === false, 10_000, 'x gone from the status');
    const back = await connect(server, { clientId: 'x' });
    expect(back.combinerId).toBe('embedded');
    // Another client follows the policy.
    const y = await connect(server, { clientId: 'y' });
    expect(y.combinerId).toBe('c2');
    expect(asked).toBe(1);
  });
});
