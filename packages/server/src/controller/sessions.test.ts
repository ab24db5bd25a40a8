import { describe, expect, it } from 'vitest';
import { serverFixture } from '../../test/fixture.js';

const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];
const f = serverFixture(SEED);

describe('session start', () => {
  it('lets exactly one of two concurrent starts through; the other gets CONFLICT', async () => {
    const server = await f.setup();
    // Both calls begin in the same tick: each one's "another session active?" check runs before either creates.
    const results = await Promise.allSettled([server.controller.startSession({ rounds: 1 }), server.controller.startSession({ rounds: 1 })]);
    const started = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ code: 'CONFLICT' });
    const active = (await server.controller.listSessions()).filter((s) => s.status === 'running' || s.status === 'paused');
    expect(active).toHaveLength(1);
  });

  it('answers two concurrent POST /api/sessions with one 201 and one 409 CONFLICT', async () => {
    const server = await f.setup();
    const post = (): Promise<Response> =>
      fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rounds: 1 }) });
    const responses = await Promise.all([post(), post()]);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<{ code?: string }>;
    expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(bodies.find((b) => b.code)?.code).toBe('CONFLICT');
    const active = (await server.controller.listSessions()).filter((s) => s.status === 'running' || s.status === 'paused');
    expect(active).toHaveLength(1);
  });
});
