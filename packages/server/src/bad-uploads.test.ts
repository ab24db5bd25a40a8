import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '@fedweb/codec';
import { fetchModelFlat } from './testing/harness.js';
import { TestClient, type TestUpdate, type TrainTask } from './testing/test-client.js';
import { serverFixture } from '../test/fixture.js';

// Seed model: w0 = [1, 2, 3, 4], w1 = [0, 1] (6 parameters).
const SEED = [
  { name: 'w0', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'w1', shape: [2], data: new Float32Array([0, 1]) },
];
const LAYOUT = SEED.map((t) => ({ name: t.name, shape: t.shape }));
const seedPlus = (d: number): number[] => [1, 2, 3, 4, 0, 1].map((v) => v + d);
const ONES: TestUpdate = { delta: new Float32Array(6).fill(1), numExamples: 1, encoding: 'f32' };
const TWOS: TestUpdate = { delta: new Float32Array(6).fill(2), numExamples: 3, encoding: 'f32' };
// The same bytes as ONES, announced with a SHA-256 they do not have.
const WRONG_HASH: TestUpdate = { ...ONES, sha256: 'f'.repeat(64) };

const { setup, connect } = serverFixture(SEED);

/** Uploads `update` for `task` and resolves with the code of the error it gets back. */
async function uploadForError(client: TestClient, task: TrainTask, update: TestUpdate): Promise<ErrorCode> {
  const err = client.waitFor('error', () => true, 20_000);
  await client.sendUpdate(task, update, LAYOUT);
  return (await err).code;
}

describe('uploads that fail their SHA-256 check', () => {
  it('may be resent within the round, up to maxUploadAttempts; then the client is out (task.cancel, NOT_SELECTED)', async () => {
    const server = await setup({ combiner: { maxUploadAttempts: 3 } });
    const codes: ErrorCode[] = [];
    let cancelled = false;
    let hTask: TrainTask | null = null;
    let checked!: Promise<void>;
    const started = new Promise<void>((resolveStarted) => {
      checked = new Promise<void>((resolve, reject) => {
        void connect(server, {
          clientId: 'h',
          onTrain: async (task, ctx) => {
            if (hTask) return null;
            hTask = task;
            resolveStarted();
            try {
              const cancel = ctx.client.waitFor('task.cancel', (m) => m.taskId === task.taskId, 20_000);
              for (let i = 0; i < 3; i++) codes.push(await uploadForError(ctx.client, task, WRONG_HASH));
              await cancel;
              cancelled = true;
              // Out of the round: another bad one and even a good one are refused, neither is counted.
              codes.push(await uploadForError(ctx.client, task, WRONG_HASH));
              codes.push(await uploadForError(ctx.client, task, { ...ONES, delta: new Float32Array(6).fill(100) }));
              resolve();
            } catch (e) {
              reject(e as Error);
            }
            return null;
          },
        }).catch(reject);
      });
    });
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    // b answers only when the test says, so the round stays open while h is checked.
    const b = await connect(server, { clientId: 'b', onTrain: () => null });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 3, roundTimeoutMs: 30_000, encoding: 'f32' });
    await started;
    await checked;
    expect(codes).toEqual(['HASH_MISMATCH', 'HASH_MISMATCH', 'HASH_MISMATCH', 'NOT_SELECTED', 'NOT_SELECTED']);
    expect(cancelled).toBe(true);

    const bTask = await b.waitFor('task.train', () => true, 20_000, true);
    await b.sendUpdate(bTask, TWOS, LAYOUT);
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 25_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.updates).toBe(2);
    expect(r.weight).toBe(4);
    expect(r.partials[0]!.refused).toBe(5);
    // a and b only: (1*1 + 3*2) / 4 = 1.75.
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1.75));
  });

  it('a client that keeps resending bad uploads does not hold the round open until its deadline', async () => {
    // Default limit (3). A one-minute deadline: the round can only end within the wait below because h's
    // retries are bounded and it is then not waited for.
    const server = await setup();
    const codes: ErrorCode[] = [];
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    await connect(server, {
      clientId: 'h',
      onTrain: async (task, ctx) => {
        // An honest-looking retry loop: resend while the error says it is retryable.
        for (let i = 0; i < 50; i++) {
          const code = await uploadForError(ctx.client, task, WRONG_HASH).catch(() => 'TIMEOUT' as const);
          codes.push(code);
          if (code !== 'HASH_MISMATCH') break;
        }
        return null;
      },
    });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 60_000, encoding: 'f32' });
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 20_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1));
    expect(codes.slice(0, 3)).toEqual(['HASH_MISMATCH', 'HASH_MISMATCH', 'HASH_MISMATCH']);
    expect(codes.filter((c) => c === 'HASH_MISMATCH')).toHaveLength(3);
  });

  it('does not reset the attempts when the client reconnects: no task again, uploads still refused', async () => {
    const server = await setup({ combiner: { maxUploadAttempts: 2 } });
    const tasks: TrainTask[] = [];
    const h = await connect(server, {
      clientId: 'h',
      onTrain: async (task, ctx) => {
        tasks.push(task);
        for (let i = 0; i < 2; i++) await uploadForError(ctx.client, task, WRONG_HASH);
        return null;
      },
    });
    const b = await connect(server, { clientId: 'b', onTrain: () => null });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 30_000, encoding: 'f32' });
    await h.waitFor('task.cancel', () => true, 20_000, true);
    h.drop();
    const welcome = await h.waitFor('welcome', () => true, 20_000);
    expect(welcome.openRoundId).toBeUndefined();
    expect(await uploadForError(h, tasks[0]!, ONES)).toBe('NOT_SELECTED');
    expect(tasks).toHaveLength(1);
    const bTask = await b.waitFor('task.train', () => true, 20_000, true);
    await b.sendUpdate(bTask, TWOS, LAYOUT);
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 25_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(2));
  });
});
