/**
 * The combiner's in-flight budget over real sockets: an announced upload size is charged before anything is
 * allocated for it; an upload larger than the whole budget is refused at once, one that does not fit now is
 * refused as UNAVAILABLE (retryable, not counted against the sender's attempts).
 */
import { describe, expect, it } from 'vitest';
import type { TestClient, TrainTask } from '../testing/test-client.js';
import { until } from '../testing/harness.js';
import { serverFixture } from '../../test/fixture.js';
import { SEED } from '../../test/tiny-session.js';

const { setup, connect } = serverFixture(SEED);

/** Announces an update of `byteLength` bytes for `task` (no chunk follows). */
function announce(c: TestClient, task: TrainTask, uploadId: string, byteLength: number): void {
  c.send({ v: 2, kind: 'update', taskId: task.taskId, roundId: task.roundId, uploadId, numExamples: 1, metrics: {}, sha256: 'a'.repeat(64), byteLength, chunkCount: 1 });
}

describe('in-flight budget', () => {
  it('refuses an announced upload larger than the budget before allocating it, and one that does not fit yet as UNAVAILABLE', async () => {
    const server = await setup({ combiner: { maxInflightBytes: 100_000 } });
    const a = await connect(server, { clientId: 'a', onTrain: () => null });
    const b = await connect(server, { clientId: 'b', onTrain: () => null });
    await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 30_000, encoding: 'f32' });
    const [ta, tb] = await Promise.all([a.waitFor('task.train', () => true, 20_000, true), b.waitFor('task.train', () => true, 20_000, true)]);

    // 1 MB is within the model's upload limit (8.5 bytes/param + 1 MiB) but over the whole budget.
    const tooLarge = a.waitFor('error', (m) => m.ref === 'big', 10_000);
    announce(a, ta, 'big', 1_000_000);
    expect(await tooLarge).toMatchObject({ code: 'FRAME_TOO_LARGE', message: expect.stringContaining('in-flight budget of 100000') });
    expect(server.combiner?.health().inflightBytes).toBe(0);

    // 60 kB is charged as soon as it is announced, before any chunk arrives...
    announce(a, ta, 'a1', 60_000);
    await until(() => server.combiner?.health().inflightBytes === 60_000, 10_000, 'the announced size charged');
    // ...so another 60 kB does not fit now: refused as retryable, not as one of b's attempts.
    const busy = b.waitFor('error', (m) => m.ref === 'b1', 10_000);
    announce(b, tb, 'b1', 60_000);
    expect(await busy).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('60000 of its 100000') });
    expect(server.combiner?.health().inflightBytes).toBe(60_000);

    // a's socket goes: its charge is released and b's announcement fits.
    a.drop();
    await until(() => server.combiner?.health().inflightBytes === 0, 10_000, 'a released');
    announce(b, tb, 'b2', 60_000);
    await until(() => server.combiner?.health().inflightBytes === 60_000, 10_000, "b's announcement charged");
    expect(b.received.some((m) => m.kind === 'error' && m.ref === 'b2')).toBe(false);
  });
});
