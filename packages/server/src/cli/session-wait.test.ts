import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../testing/harness.js';
import { ApiClient } from '../api-client/index.js';
import { followSession, progressLine } from './session-wait.js';

const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('fedweb session start --wait: what it waits for', () => {
  it('words each phase of the round in progress', () => {
    expect(progressLine(null, 0, 1)).toBeNull();
    expect(progressLine({ round: 1, phase: 'waiting', selected: 0, deadline: null }, 1, 2)).toBe('round 1: waiting for clients: 1 online, a round starts once 2 are online at a combiner');
    expect(progressLine({ round: 3, phase: 'training', selected: 4, deadline: 61_000 }, 4, 2, 1_000)).toBe('round 3: training on 4 client(s), deadline in 60 s');
    expect(progressLine({ round: 3, phase: 'validating', selected: 4, deadline: null }, 4, 2)).toMatch(/^round 3: validating/);
  });

  it('against a real server with no client: says it waits for clients, once, then how the session ended', async () => {
    const t = await startTestServer({ seed: SEED });
    cleanups.push(t.cleanup);
    const api = new ApiClient({ baseUrl: t.server.url });
    const s = await api.startSession({ id: 'wait-1', rounds: 2, clientsRequired: 2 });
    const lines: string[] = [];
    let stopped: Promise<unknown> | undefined;
    const status = await followSession(api, s.id, (line) => {
      lines.push(line);
      // Once it has said what it waits for (and polled a few more times), stop the session.
      if (line.includes('waiting for clients')) stopped ??= new Promise((r) => setTimeout(r, 300)).then(() => api.stopSession(s.id));
    }, { everyMs: 50 });
    await stopped;
    expect(status).toBe('stopped');
    expect(lines).toEqual(['round 1: waiting for clients: 0 online, a round starts once 2 are online at a combiner', 'session wait-1 stopped']);
  });
});
