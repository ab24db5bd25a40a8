/**
 * `GET /api/events` read by a Node client as the dashboard reads it (fetch, token in the header): the `hello`,
 * a session's events with the seed hidden from a viewer, each round's record with its ledger row (refusals by
 * code, bytes, float32 size), the `live` state; the roles that may not read are refused; a server closes with
 * streams open.
 */
import { describe, expect, it } from 'vitest';
import { issueToken } from '../../auth.js';
import { serverFixture } from '../../../test/fixture.js';
import { ONES, SEED } from '../../../test/tiny-session.js';

const SECRET = 'a-test-secret-of-enough-length';
const f = serverFixture(SEED);

/** Reads Server-Sent Events from a fetch body. */
function sse(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: any }> = [];
  const waiters = new Set<() => void>();
  let buf = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        for (const w of waiters) w();
      }
    }
  })();
  return {
    events,
    /** The first event `event` (so far or to come) that `pred` accepts. */
    next(event: string, pred: (d: any) => boolean = () => true, timeoutMs = 20_000): Promise<any> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = events.find((e) => e.event === event && pred(e.data));
          if (!hit) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit.data);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no '${event}' event; got ${events.map((e) => e.event).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    cancel: () => reader.cancel().catch(() => undefined).then(() => pump),
  };
}

describe('GET /api/events', () => {
  it('pushes sessions, rounds with their ledger rows, models and the live state; viewers do not see the seed', async () => {
    const server = await f.setup({ secret: SECRET });
    const token = (role: 'viewer' | 'client' | 'combiner', sub: string) => issueToken({ secret: SECRET, role, sub });
    expect((await fetch(`${server.url}/api/events`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${await token('client', 'k')}` } })).status).toBe(403);

    const res = await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${await token('viewer', 'eyes')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = sse(res.body!);
    expect(await stream.next('hello')).toEqual({ role: 'viewer', canOperate: false, auth: true, ledger: [] });

    await f.connect(server, { clientId: 'small', token: await token('client', 'small'), onTrain: () => ONES });
    const big = await f.connect(server, { clientId: 'big', token: await token('client', 'big'), onTrain: () => ({ ...ONES, delta: new Float32Array(6).fill(10) }) });
    await stream.next('live', (l) => l.clientsOnline === 2);
    const refused = big.waitFor('error', (m) => m.code === 'NORM_EXCEEDED');
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, encoding: 'f32', maxUpdateNorm: 5, seed: 7 });
    await refused;

    const running = await stream.next('session', (x) => x.id === s.id && x.status === 'running');
    expect(running.config.seed).toBeUndefined();
    const { round, row } = await stream.next('round', (x) => x.round.sessionId === s.id);
    expect(round).toMatchObject({ round: 1, status: 'committed', updates: 1 });
    const model = await server.state.getModel(round.modelId);
    expect(row).toMatchObject({ roundId: round.id, sessionId: s.id, round: 1, status: 'committed', updates: 1, refused: { NORM_EXCEEDED: 1 }, clientsOnline: 2 });
    expect(row.bytesIn).toBeGreaterThan(2 * 24);
    expect(row.bytesOut).toBeGreaterThanOrEqual(2 * 24); // both clients downloaded the seed
    expect(row.f32In).toBe(2 * model!.bytes); // two updates received, each the model's float32 size
    expect(row.durationS).toBeGreaterThan(0);
    expect(await stream.next('model', (m) => m.id === round.modelId)).toMatchObject({ sessionId: s.id, round: 1, url: `/api/models/${round.modelId}` });
    expect(await stream.next('session', (x) => x.id === s.id && x.status === 'completed')).toMatchObject({ completedRounds: 1 });

    // A new stream starts with the ledger so far.
    const again = await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${await token('viewer', 'eyes')}` } });
    const second = sse(again.body!);
    expect((await second.next('hello')).ledger).toEqual([row]);
    // The server closes with both streams open.
    await server.close();
    await stream.cancel();
    await second.cancel();
  });
});
