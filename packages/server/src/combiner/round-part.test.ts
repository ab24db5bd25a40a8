import { describe, expect, it } from 'vitest';
import { fetchModelFlat } from '../testing/harness.js';
import type { TrainTask } from '../testing/test-client.js';
import { serverFixture } from '../../test/fixture.js';
import { BY_EXAMPLES, firstRoundWhenDone, LAYOUT, ONES, sessionRounds, SEED, seedPlus, reconnect, sendHeldUpdate, TWOS } from '../../test/tiny-session.js';

const { setup, connect } = serverFixture(SEED);

describe('closing a round part', () => {
  it('closes on the deadline and refuses a late update with STALE_ROUND', async () => {
    const server = await setup();
    await connect(server, { clientId: 'fast', onTrain: () => ONES });
    const slow = await connect(server, { clientId: 'slow', onTrain: () => ({ ...TWOS, delayMs: 2500 }) });
    const late = slow.waitFor('error', (m) => m.code === 'STALE_ROUND', 20_000);
    const { rounds } = await sessionRounds(server, { rounds: 1, clientsRequired: 2, roundTimeoutMs: 1000 });
    expect(rounds[0]!.status).toBe('committed');
    expect(rounds[0]!.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, rounds[0]!.modelId!))]).toEqual(seedPlus(1));
    await late;
  });

  it('does not wait for a client that disconnects mid-upload beyond the reconnect grace, and never counts its partial upload', async () => {
    // x never comes back: the part closes once its 300 ms reconnect grace has run out.
    const server = await setup({ combiner: { reconnectGraceMs: 300 } });
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    await connect(server, { clientId: 'b', onTrain: () => TWOS });
    await connect(server, {
      clientId: 'x',
      autoReconnect: false,
      // 3 chunks of 16 bytes are sent, then the socket is dropped without a close handshake.
      onTrain: () => ({ delta: new Float32Array(6).fill(500), numExamples: 500, encoding: 'f32', chunkSize: 16, stopAfterChunks: 3 }),
    });
    // A one-minute deadline: the round can only finish within the wait below because x is not waited for.
    const s = await server.controller.startSession({ ...BY_EXAMPLES, rounds: 1, clientsRequired: 3, roundTimeoutMs: 60_000, encoding: 'f32' });
    const { status, round: r } = await firstRoundWhenDone(server, s.id, 20_000);
    expect(status).toBe('completed');
    expect(r.updates).toBe(2);
    expect(r.weight).toBe(4);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1.75));
    expect(server.combiner?.health().inflightBytes).toBe(0);
  });
});

describe('a client that refuses its task', () => {
  it('frees its slot at once when it reports a typed refusal naming the task (the SDK does for out-of-bounds settings)', async () => {
    const server = await setup();
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    await connect(server, {
      clientId: 'b',
      onTrain: (task, { client }) => {
        client.send({ v: 2, kind: 'error', code: 'BAD_CONFIG', message: 'settings.learningRate 1000000000 is above 10; the task is refused', ref: task.taskId });
        return null;
      },
    });
    // A one-minute deadline: the round can only finish within the wait below because b's refusal frees its slot.
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 60_000, encoding: 'f32' });
    const { status, round: r } = await firstRoundWhenDone(server, s.id, 20_000);
    expect(status).toBe('completed');
    expect(r.updates).toBe(1);
  });

  it('frees its validation slot at once when it refuses the validation task (the SDK caps validations per round)', async () => {
    const server = await setup();
    await connect(server, { clientId: 'a', onTrain: () => ONES, onValidate: () => ({ numExamples: 5, metrics: { accuracy: 0.5 } }) });
    const b = await connect(server, {
      clientId: 'b',
      onTrain: () => TWOS,
      onValidate: (task) => {
        b.send({ v: 2, kind: 'error', code: 'CONFLICT', message: 'round validated 1 model(s) already; validation task refused', ref: task.taskId });
        return null;
      },
    });
    // A one-minute validation deadline: the round can only finish within the wait below because b's refusal frees its slot.
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, validate: true, validateTimeoutMs: 60_000, encoding: 'f32' });
    const { status, round: r } = await firstRoundWhenDone(server, s.id, 20_000);
    expect(status).toBe('completed');
    expect(r.updates).toBe(2);
  });
});

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
    const { status, round: r } = await firstRoundWhenDone(server, s.id);
    expect(status).toBe('completed');
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
    const s = await server.controller.startSession({ ...BY_EXAMPLES, rounds: 1, clientsRequired: 2, roundTimeoutMs: 30_000, encoding: 'f32' });
    await a.waitFor('update.ack', () => true, 20_000, true);
    const welcome = await reconnect(a);
    // It delivered already: no task is pending for it, and the welcome says its update was counted.
    expect(welcome.openRoundId).toBeUndefined();
    expect(welcome.countedRoundId).toBe(first!.roundId);
    const dup = a.waitFor('error', (m) => m.code === 'DUPLICATE_UPDATE', 20_000);
    await a.sendUpdate(first!, ONES, LAYOUT);
    await dup;
    await sendHeldUpdate(b, TWOS);
    const { status, round: r } = await firstRoundWhenDone(server, s.id);
    expect(status).toBe('completed');
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
    const { status, round: r } = await firstRoundWhenDone(server, s.id, 20_000);
    expect(status).toBe('completed');
    expect(r.status).toBe('failed');
    expect(r.updates).toBe(0);
  });
});
