/**
 * An unattended kiosk against a misbehaving server (issue 18), Node SDK: each test makes the fake server (real
 * HTTP and `ws` sockets on 127.0.0.1) misbehave, checks the client neither gives up, nor loops, nor leaks its
 * token, nor runs work it should refuse, and then lets the server behave and checks the client recovers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FedError, MessageOf } from '@fedweb/codec';
import { cleanups, harness, joinedClient, runCleanups, type Harness, type Started } from './testing/harness.js';

afterEach(runCleanups);

const healthy = { status: 200, body: { combinerId: 'comb-1', url: '/ws/client' } };

/** The next round task after misbehaviour: trains, uploads, is acknowledged. */
async function recovers(h: Harness, c: Started, roundId = 'r-ok'): Promise<void> {
  if (c.client.status !== 'connected') await c.ev.wait('status', (s) => s.status === 'connected' && c.ev.log.status.indexOf(s) > 0);
  h.server.send(h.task(roundId));
  const u = await h.server.next('update', (m) => m.roundId === roundId);
  await h.server.nextFrame(u.uploadId);
  h.ack(u);
  await c.ev.wait('round', (r) => r.roundId === roundId && r.phase === 'acknowledged');
}

/** An HTTP server that records what reaches it (an origin the client must not talk to). */
async function evilOrigin(): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? '-'}`);
    res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket) => {
    hits.push(`UPGRADE ${req.url}`);
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  // `localhost` is another origin than the client's `127.0.0.1`, even on the same machine.
  return { url: `http://localhost:${(server.address() as AddressInfo).port}`, hits, server };
}

describe('kiosk: transient conditions are retried forever (point 1)', () => {
  const transient: [string, { status: number; body: unknown }][] = [
    ['a bare 400 from a broken proxy', { status: 400, body: '<html>bad request</html>' }],
    ['a typed 409 CONFLICT', { status: 409, body: { code: 'CONFLICT', message: 'busy' } }],
    ['a 503', { status: 503, body: { code: 'UNAVAILABLE', message: 'restarting' } }],
    ['a bare 401 from a proxy (no fedweb body)', { status: 401, body: '' }],
    ['a bare 403 from a proxy', { status: 403, body: '<html>denied</html>' }],
    ['a typed BAD_CONFIG', { status: 400, body: { code: 'BAD_CONFIG', message: 'nope' } }],
    ['a discovery body that is not JSON', { status: 200, body: 'not json' }],
  ];
  it.each(transient)('discovery answering %s three times: reconnecting, then joined', async (_what, reply) => {
    const h = await harness();
    let n = 0;
    h.server.discoverReply = () => (++n <= 3 ? reply : healthy);
    const c = h.client();
    await c.client.start();
    expect(h.server.discoverCount).toBe(4);
    expect(c.ev.log.status.filter((s) => s.status === 'reconnecting' && s.retryInMs !== undefined)).toHaveLength(3);
    expect(c.ev.log.failed).toEqual([]);
    await recovers(h, c);
  });

  for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'VERSION_MISMATCH', 'BAD_CONFIG', 'CONFLICT'] as const) {
    it(`an unsolicited error message ${code} never fails the client`, async () => {
      const { h, client, ev } = await joinedClient();
      const joins = h.server.hellos.length;
      h.server.send({ v: 2, kind: 'error', code, message: 'a fatal-looking complaint' });
      await ev.wait('error', (e) => e.code === code);
      if (code !== 'BAD_CONFIG' && code !== 'CONFLICT') {
        // An auth or version complaint: the client joins again, and the answer to hello decides.
        await h.server.next('hello', () => h.server.hellos.length > joins);
      }
      expect(client.status).not.toBe('failed');
      await recovers(h, { client, ev });
    });
  }

  for (const [code, reason] of [
    [4000, 'replaced'],
    [1011, 'internal error'],
    [1008, 'policy'],
    [4001, 'whatever'],
  ] as const) {
    it(`a close with code ${code} is retried with backoff`, async () => {
      const { h, client, ev } = await joinedClient();
      h.server.closeCurrent(code, reason);
      const again = await ev.wait('status', (s) => s.status === 'reconnecting' && s.retryInMs !== undefined);
      if (code === 4000) {
        expect(again.error?.code).toBe('CONFLICT');
        expect(again.error?.message).toMatch(/own `id`/);
      }
      await h.server.next('hello', () => h.server.hellos.length === 2);
      expect(ev.log.failed).toEqual([]);
      await recovers(h, { client, ev });
    });
  }

  it('two instances replacing each other back off further and further instead of fighting in a loop', async () => {
    const { h, ev } = await joinedClient();
    for (let i = 0; i < 4; i++) {
      const before = h.server.hellos.length;
      h.server.closeCurrent(4000, 'replaced');
      await h.server.next('hello', () => h.server.hellos.length > before);
    }
    const delays = ev.log.status.filter((s) => s.status === 'reconnecting' && s.retryInMs !== undefined).map((s) => s.attempt);
    expect(delays).toEqual([1, 2, 3, 4]); // the backoff does not start over after a short-lived connection
  });

  it('permanent: a typed UNAUTHORIZED fails with a failed event; restart({ token }) recovers once the token is good', async () => {
    const h = await harness();
    h.server.discoverReply = () => ({ status: 401, body: { code: 'UNAUTHORIZED', message: 'token revoked' } });
    const c = h.client({ token: 'revoked' });
    const err = (await c.client.start().catch((e: unknown) => e)) as FedError;
    expect(err.code).toBe('UNAUTHORIZED');
    const failed = await c.ev.wait('failed');
    expect(failed.code).toBe('UNAUTHORIZED');
    expect(c.client.status).toBe('failed');
    h.server.discoverReply = undefined;
    await c.client.restart({ token: 'fresh' });
    expect(c.client.status).toBe('connected');
    expect(h.server.hellos.at(-1)?.token).toBe('fresh');
    await recovers(h, c);
  });

  it('permanent: hello answered with a typed VERSION_MISMATCH fails the client', async () => {
    const h = await harness();
    h.server.autoWelcome = false;
    const c = h.client();
    const started = c.client.start().catch((e: unknown) => e);
    const hello = await h.server.next('hello');
    h.server.send({ v: 2, kind: 'error', code: 'VERSION_MISMATCH', message: 'speak v2', ref: hello.clientId });
    expect(((await started) as FedError).code).toBe('VERSION_MISMATCH');
    expect((await c.ev.wait('failed')).code).toBe('VERSION_MISMATCH');
  });

  it("retry: 'always' keeps retrying even a typed UNAUTHORIZED, and joins once the server accepts it", async () => {
    const h = await harness();
    let n = 0;
    h.server.discoverReply = () => (++n <= 3 ? { status: 401, body: { code: 'UNAUTHORIZED', message: 'token revoked' } } : healthy);
    const c = h.client({ retry: 'always' });
    await c.client.start();
    expect(c.ev.log.error.filter((e) => e.code === 'UNAUTHORIZED')).toHaveLength(3);
    expect(c.ev.log.failed).toEqual([]);
    await recovers(h, c);
  });
});

describe('kiosk: bounded work (point 3)', () => {
  it('a combiner that cuts every upload at the first chunk gets limits.uploadAttempts uploads, then the update is dropped and the combiner told', async () => {
    const { h, client, ev } = await joinedClient({}, { limits: { uploadAttempts: 4 } });
    h.server.openRoundId = 'r1';
    h.server.send(h.task('r1'));
    let uploads = 0;
    const refused = ev.wait('round', (r) => r.roundId === 'r1' && r.phase === 'refused', 30_000);
    for (let i = 0; i < 4; i++) {
      await h.server.next('update', (m) => m.roundId === 'r1');
      uploads++;
      h.server.dropAll();
    }
    const r = await refused;
    expect(r.error?.message).toMatch(/after 4 upload attempts/);
    const told = await h.server.next('error', (m) => m.ref === 't-r1');
    expect(told.code).toBe('UNAVAILABLE');
    expect(uploads).toBe(4);
    expect(h.server.pendingKinds().filter((k) => k === 'update')).toEqual([]);
    expect(await h.cache.getPendingUpdate(client.clientId!)).toBeUndefined();
    h.server.openRoundId = undefined;
    await recovers(h, { client, ev });
    expect(h.trainers.calls.filter((c) => c === 'train:r1')).toHaveLength(1);
  });

  it('a flood of 1,000 train tasks: the running round finishes, the newest supersedes the rest, each refusal told to the combiner', async () => {
    const { h, client, ev } = await joinedClient();
    await h.holdTraining('r0');
    for (let i = 1; i <= 1000; i++) h.server.send(h.task(`r${i}`));
    await h.handled(ev);
    const superseded = ev.log.round.filter((r) => r.phase === 'cancelled');
    expect(superseded).toHaveLength(999);
    expect(superseded[0]!.error?.code).toBe('STALE_ROUND');
    for (let i = 1; i < 1000; i++) await h.server.next('error', (m) => m.ref === `t-r${i}` && m.code === 'STALE_ROUND');
    h.trainers.hold = false;
    h.trainers.release();
    for (const round of ['r0', 'r1000']) {
      const u = await h.server.next('update', (m) => m.roundId === round);
      await h.server.nextFrame(u.uploadId);
      h.ack(u);
      await ev.wait('round', (r) => r.roundId === round && r.phase === 'acknowledged');
    }
    expect(h.trainers.calls.filter((c) => c.startsWith('train:'))).toEqual(['train:r0', 'train:r1000']);
    await recovers(h, { client, ev });
  });

  it('the queue is bounded: tasks beyond limits.queuedTasks are refused at once and the combiner told', async () => {
    const { h, client, ev } = await joinedClient({}, { limits: { queuedTasks: 2 } });
    await h.holdTraining('r0');
    for (let i = 1; i <= 5; i++) h.server.send(h.validate(`v${i}`));
    for (let i = 3; i <= 5; i++) expect((await h.server.next('error', (m) => m.ref === `v-v${i}`)).code).toBe('UNAVAILABLE');
    h.trainers.hold = false;
    h.trainers.release();
    const u = await h.server.next('update');
    await h.server.nextFrame(u.uploadId);
    h.ack(u);
    expect((await h.server.next('validation')).roundId).toBe('v1');
    expect((await h.server.next('validation')).roundId).toBe('v2');
    await recovers(h, { client, ev });
    expect(h.server.pendingKinds()).not.toContain('validation');
  });

  it('a task re-sent for a round already acknowledged is answered from what was acknowledged, not trained again', async () => {
    const { h, client, ev } = await joinedClient();
    const u = await h.uploaded('r1');
    h.ack(u);
    await ev.wait('round', (r) => r.phase === 'acknowledged');
    h.server.send(h.task('r1', { taskId: 't-r1-again' }));
    const answer = await h.server.next('error', (m) => m.ref === 't-r1-again');
    expect(answer.code).toBe('DUPLICATE_UPDATE');
    expect(answer.message).toContain(u.uploadId);
    expect(h.trainers.calls.filter((c) => c === 'train:r1')).toHaveLength(1);
    expect(h.server.pendingKinds()).not.toContain('update');
    await recovers(h, { client, ev });
  });

  it('validation: at most limits.validationsPerRound distinct models per round; a crafted second model is refused', async () => {
    const { h, client, ev } = await joinedClient();
    h.server.send(h.validate('r1'));
    await h.server.next('validation');
    const crafted = await h.server.blob('m2', '/api/models/m2', new Uint8Array([1, 2, 3]));
    h.server.send({ ...h.validate('r1'), taskId: 'v-crafted', model: crafted });
    expect((await h.server.next('error', (m) => m.ref === 'v-crafted')).code).toBe('CONFLICT');
    // The same model again (a re-sent task) is answered: it tells the server nothing new.
    h.server.send({ ...h.validate('r1'), taskId: 'v-again' });
    expect((await h.server.next('validation')).taskId).toBe('v-again');
    await recovers(h, { client, ev });
  });
});

describe('kiosk: credentials stay home (point 5)', () => {
  it('a task whose model reference is on another origin is refused (UNTRUSTED_ORIGIN) and the token never goes there', async () => {
    const evil = await evilOrigin();
    const { h, client, ev } = await joinedClient({}, { token: 'secret-jwt' });
    const t = h.task('r1');
    h.server.send({ ...t, model: { ...t.model, url: `${evil.url}/api/models/m1` } });
    const told = await h.server.next('error', (m) => m.ref === 't-r1');
    expect(told.code).toBe('UNTRUSTED_ORIGIN');
    expect((await ev.wait('error', (e) => e.code === 'UNTRUSTED_ORIGIN')).message).toMatch(/trustedOrigins/);
    expect(evil.hits).toEqual([]);
    await recovers(h, { client, ev });
  });

  it('a discovery answer naming a combiner on another origin is refused; no hello goes there; the client retries', async () => {
    const evil = await evilOrigin();
    const h = await harness();
    let n = 0;
    h.server.discoverReply = () => (++n <= 2 ? { status: 200, body: { combinerId: 'evil', url: `${evil.url.replace('http', 'ws')}/ws/client` } } : healthy);
    const c = h.client({ token: 'secret-jwt' });
    await c.client.start();
    expect(c.ev.log.error.filter((e) => e.code === 'UNTRUSTED_ORIGIN')).toHaveLength(2);
    expect(evil.hits).toEqual([]);
    await recovers(h, c);
  });

  it('an origin listed in trustedOrigins is used', async () => {
    const other = await harness();
    const h = await harness();
    const otherOrigin = other.server.url.replace('127.0.0.1', 'localhost');
    h.server.discoverReply = () => ({ status: 200, body: { combinerId: 'comb-2', url: `${otherOrigin.replace('http', 'ws')}/ws/client` } });
    const c = h.client({ token: 'jwt', trustedOrigins: [otherOrigin.replace('http', 'ws')] });
    await c.client.start();
    expect(other.server.hellos).toHaveLength(1);
    expect(h.server.hellos).toHaveLength(0);
  });
});

describe('kiosk: settings are checked (point 6)', () => {
  it('learningRate 1e9 is refused before training, and the combiner is told at once', async () => {
    const { h, client, ev } = await joinedClient();
    h.server.send(h.task('r1', { settings: { localEpochs: 1, batchSize: 2, learningRate: 1e9 } }));
    const told = await h.server.next('error', (m) => m.ref === 't-r1');
    expect(told.code).toBe('BAD_CONFIG');
    expect(told.message).toMatch(/learningRate 1000000000 is above 10/);
    expect(h.trainers.calls.some((c) => c.startsWith('train:'))).toBe(false);
    await recovers(h, { client, ev });
  });

  for (const [what, settings] of [
    ['localEpochs 1e6', { localEpochs: 1e6, batchSize: 2, learningRate: 0.1 }],
    ['batchSize 0', { localEpochs: 1, batchSize: 0, learningRate: 0.1 }],
  ] as const) {
    it(`${what} (outside the wire schema) is refused and the combiner told at once`, async () => {
      const { h, client, ev } = await joinedClient();
      h.server.sendRaw(JSON.stringify({ ...h.task('r1'), settings }));
      const told = await h.server.next('error', (m) => m.ref === 't-r1');
      expect(told.code).toBe('BAD_MESSAGE');
      expect(told.message).toMatch(/task t-r1 refused/);
      await recovers(h, { client, ev });
    });
  }

  it("bounds the package declares tighten the client's defaults", async () => {
    const { h, client, ev } = await joinedClient();
    const t = h.task('r1', { settings: { localEpochs: 3, batchSize: 2, learningRate: 0.1 } });
    const manifest = { name: 'mlp', version: '1', sha256: t.package.sha256, bytes: t.package.bytes, bounds: { maxLocalEpochs: 2 } };
    h.server.blobs.set(`/api/packages/${t.package.sha256}/manifest`, new TextEncoder().encode(JSON.stringify(manifest)));
    h.server.send(t);
    const told = await h.server.next('error', (m) => m.ref === 't-r1');
    expect(told.message).toMatch(/localEpochs 3 is above 2 \(maxLocalEpochs/);
    // Within the package's bounds: trained.
    h.server.send(h.task('r2', { settings: { localEpochs: 2, batchSize: 2, learningRate: 0.1 } }));
    const u = await h.server.next('update', (m: MessageOf<'update'>) => m.roundId === 'r2');
    await h.server.nextFrame(u.uploadId);
    h.ack(u);
    await ev.wait('round', (r) => r.roundId === 'r2' && r.phase === 'acknowledged');
    expect(h.trainers.calls.filter((c) => c.startsWith('train:'))).toEqual(['train:r2']);
    expect(client.status).not.toBe('failed');
  });
});
