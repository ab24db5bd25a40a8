/**
 * Inputs are bounded (over real sockets): JSON bodies nested thousands of levels deep are a 400 naming the limit
 * (they used to be a 500 "Maximum call stack size exceeded" when the session was stored), bodies over the size
 * limit a 413, and free-form maps (`extra`, strategy options, `metrics` in a client's update, the manifest's
 * settings) are held to MAX_MAP_KEYS keys of MAX_MAP_KEY_LENGTH characters, on HTTP and on the client WebSocket.
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_MAP_KEYS, type MessageOf } from '@fedweb/codec';
import { firstRoundWhenDone, ONES, SEED, seedPlus, sendHeldUpdate } from '../../test/tiny-session.js';
import { fetchModelFlat } from '../testing/harness.js';
import { serverFixture } from '../../test/fixture.js';

const f = serverFixture(SEED);

async function post(url: string, body: string): Promise<{ status: number; json: { kind?: string; code?: string; message?: string } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as { code?: string; message?: string } };
}

const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const manyKeys = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

describe('JSON bodies', () => {
  it('a body nested 5000 or 100000 levels deep is a 400 BAD_CONFIG naming the depth limit, on every POST route', async () => {
    const server = await f.setup();
    for (const depth of [5_000, 100_000]) {
      const cases: Array<[string, string]> = [
        ['/api/sessions', `{"extra":{"x":${deepObject(depth)}}}`],
        ['/api/sessions', `{"extra":{"x":${deepArray(depth)}}}`],
        ['/api/sessions', `{"strategy":{"name":"fedavg","options":{"x":${deepObject(depth)}}}}`],
        ['/api/discover', `{"clientId":"a","capabilities":${deepObject(depth)}}`],
        ['/api/packages', `{"manifest":{"settings":${deepArray(depth)}},"bundle":"AA==","seedModel":"AA=="}`],
      ];
      for (const [path, body] of cases) {
        const r = await post(server.url + path, body);
        expect({ path, depth, status: r.status, code: r.json.code }).toEqual({ path, depth, status: 400, code: 'BAD_CONFIG' });
        expect(r.json.message).toContain(`deeper than ${MAX_JSON_DEPTH}`);
      }
    }
    // A depth within the limit still reaches the schema (and brackets inside strings do not count).
    const ok = await post(`${server.url}/api/sessions`, JSON.stringify({ id: 'ok1', rounds: 1, extra: { note: '[[[[{{{{'.repeat(100), x: [[[1]]] } }));
    expect(ok.status).toBe(201);
  });

  it('a body over the size limit is a 413 FRAME_TOO_LARGE', async () => {
    const server = await f.setup({ maxBodyBytes: 64 * 1024 });
    const r = await post(`${server.url}/api/sessions`, JSON.stringify({ extra: { blob: 'x'.repeat(100 * 1024) } }));
    expect({ status: r.status, code: r.json.code }).toEqual({ status: 413, code: 'FRAME_TOO_LARGE' });
  });
});

describe('free-form maps', () => {
  it('extra and strategy options with too many or too long keys are a 400 naming the field; at the limit they pass', async () => {
    const server = await f.setup();
    const cases: Array<[string, unknown, string]> = [
      ['many extra keys', { extra: manyKeys(10_000) }, 'extra'],
      ['long extra key', { extra: { ['k'.repeat(1000)]: 1 } }, 'extra'],
      ['many strategy options', { strategy: { name: 'fedavg', options: manyKeys(MAX_MAP_KEYS + 1) } }, 'strategy.options'],
    ];
    for (const [what, body, field] of cases) {
      const r = await post(`${server.url}/api/sessions`, JSON.stringify(body));
      expect({ what, status: r.status, code: r.json.code }).toEqual({ what, status: 400, code: 'BAD_CONFIG' });
      expect(r.json.message, what).toContain(field);
    }
    const ok = await post(`${server.url}/api/sessions`, JSON.stringify({ id: 'edge', rounds: 1, extra: manyKeys(MAX_MAP_KEYS) }));
    expect(ok.status).toBe(201);
  });

  it("a client's update with 10000 metric keys, or a message nested 100000 levels deep, is refused with BAD_MESSAGE; the socket stays usable", async () => {
    const server = await f.setup();
    const c = await f.connect(server, { clientId: 'm', onTrain: () => null });
    await server.controller.startSession({ id: 's1', rounds: 1, clientsRequired: 1, roundTimeoutMs: 20_000, encoding: 'f32' });
    const t: MessageOf<'task.train'> = await c.waitFor('task.train', () => true, 20_000, true);
    const update = { v: 2, kind: 'update', taskId: t.taskId, roundId: t.roundId, uploadId: 'u-many', numExamples: 1, sha256: 'a'.repeat(64), byteLength: 100, chunkCount: 1 };
    const refused1 = c.waitFor('error', (m) => m.code === 'BAD_MESSAGE');
    c.sendRaw(JSON.stringify({ ...update, metrics: manyKeys(10_000) }));
    expect((await refused1).message).toMatch(/metrics/);
    const refused2 = c.waitFor('error', (m) => m.code === 'BAD_MESSAGE' && /deeper/.test(m.message));
    c.sendRaw(`{"v":2,"kind":"heartbeat","t":1,"capabilities":${deepObject(100_000)}}`);
    await refused2;
    // Still joined: a valid update for the same task is counted and the round commits with it.
    expect(c.connected).toBe(true);
    await sendHeldUpdate(c, ONES);
    const { status, round } = await firstRoundWhenDone(server, 's1');
    expect({ status, updates: round.updates }).toEqual({ status: 'completed', updates: 1 });
    expect([...(await fetchModelFlat(server.url, round.modelId!))]).toEqual(seedPlus(1));
  });
});
