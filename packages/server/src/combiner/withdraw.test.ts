/**
 * Graceful withdrawal on the combiner (issue 16.5): a client that stops meeting the session's device conditions
 * sends `withdraw`; its slot is freed at once (the part closes without waiting for the deadline), it is not picked
 * again while its capabilities break the policy, and a withdraw that frees nothing is answered with a typed error.
 */
import { describe, expect, it } from 'vitest';
import type { MessageOf } from '@fedweb/codec';
import { until } from '../testing/harness.js';
import type { TestClient, TrainTask } from '../testing/test-client.js';
import type { WithdrawnEvent } from './combiner.js';
import { serverFixture } from '../../test/fixture.js';
import { LAYOUT, ONES, SEED, sendHeldUpdate, TWOS } from '../../test/tiny-session.js';

const { setup, connect } = serverFixture(SEED);
/** A test server whose combiner's `withdrawn` events are recorded. */
async function hearing() {
  const server = await setup();
  const withdrawn: WithdrawnEvent[] = [];
  server.combiner!.events.on('withdrawn', (e) => withdrawn.push(e));
  return { server, withdrawn };
}

const FULL = { platform: 'node' as const, battery: { level: 0.9, charging: false } };
const LOW = { platform: 'node' as const, battery: { level: 0.05, charging: false } };

describe('withdraw', () => {
  it('frees the slot at once: the round closes long before its deadline with the others; the client is not picked while low, and is once charged', async () => {
    const { server, withdrawn } = await hearing();
    let low = true;
    await connect(server, { clientId: 'a', capabilities: FULL, onTrain: () => ONES });
    const b = await connect(server, {
      clientId: 'b',
      capabilities: FULL,
      onTrain: (task, { client }) => {
        if (!low) return TWOS;
        client.send({ v: 2, kind: 'withdraw', roundId: task.roundId, taskId: task.taskId, reason: 'battery', capabilities: LOW });
        return null;
      },
    });
    await connect(server, { clientId: 'c', capabilities: FULL, onTrain: () => TWOS });
    // Ten-minute deadlines: the session can only end within the wait below because b's slot is freed.
    const config = { roundTimeoutMs: 600_000, encoding: 'f32', selection: { minBattery: 0.2 } } as const;
    const s1 = await server.controller.startSession({ ...config, rounds: 2, clientsRequired: 2 });
    await server.controller.waitForSession(s1.id, ['completed', 'failed'], 30_000);
    const r1 = (await server.controller.getSession(s1.id)).rounds;
    expect(r1.map((r) => [r.status, r.updates])).toEqual([
      ['committed', 2],
      ['committed', 2],
    ]);
    expect(r1[0]!.committedAt!).toBeLessThan(r1[0]!.deadline!);
    // b trained round 1 only: while its battery is low it is not selected.
    const tasks = b.received.filter((m): m is MessageOf<'task.train'> => m.kind === 'task.train');
    expect(tasks.map((t) => t.roundId)).toEqual([r1[0]!.id]);
    expect(tasks[0]!.settings.conditions).toMatchObject({ minBattery: 0.2 });
    expect(withdrawn).toEqual([{ clientId: 'b', roundId: r1[0]!.id, reason: 'battery' }]);

    // Charging: its heartbeat says so, and the next round picks it again.
    low = false;
    b.send({ v: 2, kind: 'heartbeat', t: Date.now(), capabilities: { ...LOW, battery: { level: 0.06, charging: true } } });
    const s2 = await server.controller.startSession({ ...config, rounds: 1, clientsRequired: 3 });
    await server.controller.waitForSession(s2.id, ['completed', 'failed'], 30_000);
    expect((await server.controller.getSession(s2.id)).rounds.map((r) => [r.status, r.updates])).toEqual([['committed', 3]]);
    expect(withdrawn).toHaveLength(1);
  });

  it('a withdraw that frees nothing gets a typed error: not selected, a closed or unknown round, a second withdraw, after the update counted', async () => {
    const { server, withdrawn } = await hearing();
    const x = await connect(server, { clientId: 'x', capabilities: FULL, onTrain: () => null });
    const y = await connect(server, { clientId: 'y', capabilities: FULL, onTrain: () => null });
    // z is connected but below the battery threshold: never selected.
    const z = await connect(server, { clientId: 'z', capabilities: LOW, onTrain: () => null });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 600_000, encoding: 'f32', selection: { minBattery: 0.2 } });
    const task = await x.waitFor('task.train', () => true, 20_000, true);
    await y.waitFor('task.train', () => true, 20_000, true);
    const refusal = async (c: typeof x, roundId: string) => {
      const answer = c.waitFor('error', (m) => m.ref === roundId, 10_000);
      c.send({ v: 2, kind: 'withdraw', roundId, reason: 'user' });
      return (await answer).code;
    };
    expect(await refusal(z, task.roundId)).toBe('NOT_SELECTED');
    expect(await refusal(x, `${s.id}.r9.nope`)).toBe('STALE_ROUND');

    // y withdraws; a second withdraw frees nothing more (one event, one release).
    y.send({ v: 2, kind: 'withdraw', roundId: task.roundId, reason: 'hidden' });
    expect(await refusal(y, task.roundId)).toBe('CONFLICT');
    expect(withdrawn).toEqual([{ clientId: 'y', roundId: task.roundId, reason: 'hidden' }]);
    // x's update is counted; withdrawing after that is refused and does not undo it.
    await sendHeldUpdate(x, ONES);
    await server.controller.waitForSession(s.id, ['completed', 'failed'], 30_000);
    expect(await refusal(x, task.roundId)).toBe('STALE_ROUND');
    const rounds = (await server.controller.getSession(s.id)).rounds;
    expect(rounds.map((r) => [r.status, r.updates])).toEqual([['committed', 1]]);
    expect(withdrawn).toHaveLength(1);
  });

  it("a withdraw speaks only for its own socket: naming another client is refused (BAD_MESSAGE) and that client's slot is kept", async () => {
    const { server, withdrawn } = await hearing();
    const victim = await connect(server, { clientId: 'victim', onTrain: () => null });
    const mallory = await connect(server, { clientId: 'mallory', onTrain: () => null });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 600_000, encoding: 'f32' });
    const task = await victim.waitFor('task.train', () => true, 20_000, true);
    await mallory.waitFor('task.train', () => true, 20_000, true);
    const answer = mallory.waitFor('error', () => true, 10_000);
    mallory.sendRaw(JSON.stringify({ v: 2, kind: 'withdraw', roundId: task.roundId, reason: 'user', clientId: 'victim' }));
    expect((await answer).code).toBe('BAD_MESSAGE');
    expect(withdrawn).toEqual([]);
    // The victim's update still counts: its slot was never freed. Mallory withdrawing itself closes the part.
    await sendHeldUpdate(victim, TWOS);
    mallory.send({ v: 2, kind: 'withdraw', roundId: task.roundId, reason: 'user' });
    await server.controller.waitForSession(s.id, ['completed', 'failed'], 30_000);
    expect((await server.controller.getSession(s.id)).rounds.map((r) => [r.status, r.updates])).toEqual([['committed', 1]]);
    expect(withdrawn.map((w) => w.clientId)).toEqual(['mallory']);
  });

  it('async stream: a withdraw ends the task; no new task while low (even on a new version), one once charged', async () => {
    const { server, withdrawn } = await hearing();
    const a = await connect(server, { clientId: 'a', capabilities: FULL, onTrain: () => null });
    const b = await connect(server, { clientId: 'b', capabilities: FULL, onTrain: () => null });
    const tasks = (c: TestClient) => c.received.filter((m): m is TrainTask => m.kind === 'task.train');
    const taskOf = (c: TestClient, n: number) => until(() => tasks(c)[n], 20_000, `${c.clientId}'s task #${n + 1}`);
    const strategy = { name: 'fedbuff', options: { bufferSize: 1, maxStaleness: 10 } };
    await server.controller.startSession({ rounds: 5, encoding: 'f32', roundTimeoutMs: 60_000, selection: { minBattery: 0.2 }, strategy });
    const [ta0, tb0] = await Promise.all([taskOf(a, 0), taskOf(b, 0)]);
    b.send({ v: 2, kind: 'withdraw', roundId: tb0.roundId, taskId: tb0.taskId, reason: 'battery', capabilities: LOW });
    await until(() => withdrawn.length === 1, 10_000, 'the withdrawal');
    expect(withdrawn).toEqual([{ clientId: 'b', roundId: tb0.roundId, reason: 'battery' }]);
    const again = b.waitFor('error', (m) => m.ref === tb0.roundId, 10_000);
    b.send({ v: 2, kind: 'withdraw', roundId: tb0.roundId, reason: 'battery' });
    expect((await again).code).toBe('STALE_ROUND');

    // a's update publishes version 1: a trains on, b (still low) gets nothing.
    await a.sendUpdate(ta0, ONES, LAYOUT);
    await until(() => server.combiner?.asyncStream?.round === 2, 20_000, 'version 1 at the combiner');
    const ta1 = await taskOf(a, 1);
    // A round trip on b's socket: a task sent to b at the new version would have arrived before this answer.
    const barrier = b.waitFor('error', (m) => m.ref === 'barrier', 10_000);
    b.send({ v: 2, kind: 'withdraw', roundId: 'barrier', reason: 'user' });
    await barrier;
    expect(tasks(b)).toHaveLength(1);

    // Charging: with the next version b is tasked again.
    b.send({ v: 2, kind: 'heartbeat', t: Date.now(), capabilities: { ...LOW, battery: { level: 0.06, charging: true } } });
    await a.sendUpdate(ta1, ONES, LAYOUT);
    await until(() => server.combiner?.asyncStream?.round === 3, 20_000, 'version 2 at the combiner');
    expect((await taskOf(b, 1)).roundId).not.toBe(tb0.roundId);
    expect(withdrawn).toHaveLength(1);
  });

  it('when withdrawals leave too few clients for minClients, the part closes at once and the round fails the validity policy', async () => {
    const { server, withdrawn } = await hearing();
    const a = await connect(server, { clientId: 'a', onTrain: () => null });
    const leaver = (id: string) => connect(server, { clientId: id, onTrain: (task, { client }) => (client.send({ v: 2, kind: 'withdraw', roundId: task.roundId, reason: 'metered' }), null) });
    await leaver('b');
    await leaver('c');
    // a still trains (it never answers), but with b and c gone at most 1 update can come: minClients 2 cannot be met.
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 3, minClients: 2, roundTimeoutMs: 600_000, encoding: 'f32' });
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 30_000);
    const [round] = (await server.controller.getSession(s.id)).rounds;
    expect([done.status, round!.status, round!.updates]).toEqual(['completed', 'failed', 0]);
    expect(round!.reason).toMatch(/invalid round/);
    expect(withdrawn.map((w) => w.clientId).sort()).toEqual(['b', 'c']);
    // a is told its task is over.
    await a.waitFor('task.cancel', () => true, 10_000, true);
  });
});
