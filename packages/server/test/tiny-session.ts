/**
 * Test-only: the 6-parameter seed model the server's socket suites share, the updates they send, and how they
 * read a finished session. Expected models are hand-computed from these values.
 */
import type { NamedTensor, TensorSpec } from '@fedweb/codec';
import type { FedServer } from '../src/server.js';
import type { TestClient, TestUpdate } from '../src/testing/test-client.js';

/** w0 = [1, 2, 3, 4], w1 = [0, 1] (6 parameters). */
export const SEED: NamedTensor[] = [
  { name: 'w0', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'w1', shape: [2], data: new Float32Array([0, 1]) },
];
export const LAYOUT: TensorSpec[] = SEED.map((t) => ({ name: t.name, shape: t.shape }));

/** The seed plus `d` (one number for every parameter, or one per parameter). */
export const seedPlus = (d: number | number[]): number[] => [1, 2, 3, 4, 0, 1].map((v, i) => v + (typeof d === 'number' ? d : (d[i] as number)));

/** A delta of ones from 1 example, and of twos from 3 examples: their example-weighted mean is 1.75. */
export const ONES: TestUpdate = { delta: new Float32Array(6).fill(1), numExamples: 1, encoding: 'f32' };
export const TWOS: TestUpdate = { delta: new Float32Array(6).fill(2), numExamples: 3, encoding: 'f32' };

/**
 * The operator's weight cap for the suites whose expected models are example-weighted by hand (FedAvg over
 * ONES and TWOS): with it, updates weigh their claims from round 1 on. The default weighs every update the same
 * in a session's first round (no previous claims to cap against yet; README "Threat model").
 */
export const BY_EXAMPLES = { maxExamplesPerUpdate: 1_000_000 } as const;

/** Waits for a session to end (completed or failed) and returns its status and first round. */
export async function firstRoundWhenDone(server: FedServer, sessionId: string, timeoutMs = 25_000) {
  const done = await server.controller.waitForSession(sessionId, ['completed', 'failed'], timeoutMs);
  const round = (await server.controller.getSession(sessionId)).rounds[0]!;
  return { status: done.status, round };
}

/** Runs a session (f32 updates, 20 s rounds unless `config` says otherwise) to its end; its status and rounds. */
export async function sessionRounds(server: FedServer, config: Record<string, unknown>) {
  const s = await server.controller.startSession({ roundTimeoutMs: 20_000, encoding: 'f32', ...config });
  const done = await server.controller.waitForSession(s.id, ['completed', 'failed', 'stopped'], 40_000);
  return { session: done, rounds: (await server.controller.getSession(s.id)).rounds };
}

/** A client that held its task back (its `onTrain` returned null) now sends `update` for it. */
export async function sendHeldUpdate(client: TestClient, update: TestUpdate): Promise<void> {
  const task = await client.waitFor('task.train', () => true, 20_000, true);
  await client.sendUpdate(task, update, LAYOUT);
}

/** Drops a client's socket (no close handshake) and resolves with the `welcome` of its automatic reconnect. */
export async function reconnect(client: TestClient) {
  client.drop();
  return client.waitFor('welcome', () => true, 20_000);
}
