import { describe, expect, it } from 'vitest';
import type { RoundRecord } from '../store/types.js';
import { serverFixture } from '../../test/fixture.js';

const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];
const f = serverFixture(SEED);

describe('a sync round stopped late', () => {
  it('commits nothing when the session is stopped while the round validates', async () => {
    const server = await f.setup();
    let validating!: () => void;
    const validationTask = new Promise<void>((resolve) => (validating = resolve));
    // The client trains, then holds its validation task: the round stays in its validation phase.
    const client = await f.connect(server, {
      clientId: 'a',
      onTrain: () => ({ delta: new Float32Array([1, 1]), numExamples: 1, encoding: 'f32' }),
      onValidate: () => {
        validating();
        return null;
      },
    });
    const s = await server.controller.startSession({ rounds: 1, encoding: 'f32', validate: true, validateTimeoutMs: 60_000 });
    const roundEnded = new Promise<RoundRecord>((resolve) => server.controller.on('round', (r: RoundRecord) => r.sessionId === s.id && resolve(r)));
    await validationTask;
    expect(server.controller.liveRounds().find((l) => l.sessionId === s.id)?.phase).toBe('validating');

    const task = client.received.find((m) => m.kind === 'task.validate');
    // The combiner drops the validation part too: the held task is cancelled, not left open to its deadline.
    const cancelled = client.waitFor('task.cancel', (m) => m.taskId === (task as { taskId: string }).taskId, 20_000);
    await server.controller.stopSession(s.id);
    await cancelled;
    const ended = await roundEnded;
    expect(ended.status).toBe('aborted');
    expect(await server.controller.modelTrail(s.id)).toEqual([]);
    const detail = await server.controller.getSession(s.id);
    expect(detail.session.status).toBe('stopped');
    expect(detail.session.currentModelId).toBe(s.initialModelId);
    expect(detail.session.completedRounds).toBe(0);
    expect(detail.rounds.map((r) => r.status)).toEqual(['aborted']);
  });
});
