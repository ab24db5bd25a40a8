import { describe, expect, it } from 'vitest';
import { fetchModelFlat, until } from './testing/harness.js';
import type { TestClientOptions, TestUpdate } from './testing/test-client.js';
import { serverFixture } from '../test/fixture.js';
import { BY_EXAMPLES, ONES, sessionRounds, SEED, seedPlus, TWOS } from '../test/tiny-session.js';

const { setup, connect } = serverFixture(SEED);

describe('session rules', () => {
  it('selects clients by capability, samples clientsPerRound and aggregates validation metrics', async () => {
    const server = await setup();
    const trained = new Set<string>();
    const mk = (id: string, capabilities: TestClientOptions['capabilities'], update: TestUpdate, acc: number, n: number) =>
      connect(server, {
        clientId: id,
        capabilities,
        onTrain: () => {
          trained.add(id);
          return update;
        },
        onValidate: () => ({ numExamples: n, metrics: { accuracy: acc } }),
      });
    await mk('plain', { platform: 'node' }, ONES, 0.5, 2);
    await mk('charging', { battery: { level: 0.05, charging: true } }, TWOS, 1, 6);
    await mk('low', { battery: { level: 0.1, charging: false } }, { ...ONES, delta: new Float32Array(6).fill(9) }, 0, 100);
    await mk('cell', { connection: { type: 'cellular' } }, { ...ONES, delta: new Float32Array(6).fill(9) }, 0, 100);
    const { rounds } = await sessionRounds(server, {
      ...BY_EXAMPLES,
      rounds: 1,
      clientsRequired: 2,
      validate: true,
      selection: { minBattery: 0.2, excludeConnectionTypes: ['cellular'] },
    });
    const r = rounds[0]!;
    expect([...trained].sort()).toEqual(['charging', 'plain']);
    expect(r.updates).toBe(2);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1.75));
    // Example-weighted validation accuracy: (0.5*2 + 1*6) / 8 = 0.875.
    expect(r.validationMetrics.accuracy).toBeCloseTo(0.875, 12);
    expect(r.validationMetrics.clients).toBe(2);

    // clientsPerRound samples a subset of the eligible clients.
    trained.clear();
    const second = await sessionRounds(server, { rounds: 1, clientsRequired: 1, clientsPerRound: 1 });
    expect(second.rounds[0]!.updates).toBe(1);
    expect(trained.size).toBe(1);
  });

  it('pauses, resumes and stops sessions', async () => {
    const server = await setup();
    await connect(server, { clientId: 'a', onTrain: () => ({ ...ONES, delayMs: 100 }) });
    const s = await server.controller.startSession({ rounds: 50, roundTimeoutMs: 10_000, encoding: 'f32' });
    await until(async () => (await server.controller.getSession(s.id)).session.completedRounds >= 1, 20_000, 'first round');
    await server.controller.pauseSession(s.id);
    await until(async () => !(await server.controller.getSession(s.id)).live, 20_000, 'the round in flight to finish');
    const paused = (await server.controller.getSession(s.id)).session.completedRounds;
    await new Promise((r) => setTimeout(r, 400));
    expect((await server.controller.getSession(s.id)).session.completedRounds).toBe(paused);
    await server.controller.resumeSession(s.id);
    await until(async () => (await server.controller.getSession(s.id)).session.completedRounds > paused, 20_000, 'progress after resume');
    await server.controller.stopSession(s.id);
    const stopped = await server.controller.waitForSession(s.id, ['stopped']);
    expect(stopped.status).toBe('stopped');
    await expect(server.controller.resumeSession(s.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    // The trail is a chain: every model's parent is the previous one.
    const trail = await server.controller.modelTrail(s.id);
    expect(trail.length).toBeGreaterThanOrEqual(2);
    trail.forEach((m, i) => expect(m.parentId).toBe(i === 0 ? s.initialModelId : trail[i - 1]!.id));
  });
});
