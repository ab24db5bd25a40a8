/**
 * Combiners as authenticated principals, over real sockets: an external combiner with only a combiner token
 * verifies client tokens with the controller's public key (never runs with client auth silently off), refuses
 * to start when it cannot get that key, cannot register under another id, cannot take over a live combiner's id,
 * and a rogue combiner's partial announcements are refused before the controller allocates anything.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { issueToken } from '../auth.js';
import { JWKS_PATH } from '../auth-keys.js';
import { serverFixture } from '../../test/fixture.js';
import { tempDir, until } from '../testing/harness.js';
import { spawnCli } from '../testing/spawn.js';
import { startCombiner, type CombinerServer } from './process.js';

const SECRET = 'a-test-secret-of-enough-length';
const f = serverFixture([{ name: 'w0', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);

interface Msg {
  kind: string;
  code?: string;
  message?: string;
  roundId?: string;
  ref?: string;
  [k: string]: unknown;
}

/** A raw WebSocket that records the JSON messages it receives (and how it ended). */
async function dial(url: string, token?: string): Promise<{ ws: WebSocket; msgs: Msg[]; refusedStatus: number | null; closed: () => boolean; send: (m: object) => void; next: (pred: (m: Msg) => boolean, what: string) => Promise<Msg> }> {
  const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const msgs: Msg[] = [];
  let closed = false;
  let refusedStatus: number | null = null;
  ws.on('message', (d, binary) => {
    if (!binary) msgs.push(JSON.parse(d.toString()) as Msg);
  });
  ws.on('close', () => (closed = true));
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      refusedStatus = res.statusCode ?? 0;
      closed = true;
      resolve();
    });
    ws.once('error', () => resolve());
  });
  f.defer(async () => ws.terminate());
  return {
    ws,
    msgs,
    get refusedStatus() {
      return refusedStatus;
    },
    closed: () => closed,
    send: (m) => ws.send(JSON.stringify({ v: 2, ...m })),
    next: (pred, what) => until(() => msgs.find(pred), 10_000, what),
  };
}

const clientHello = (clientId: string, token?: string) => ({ kind: 'hello', clientId, capabilities: {}, ...(token ? { token } : {}) });

async function combinerOf(opts: Parameters<typeof startCombiner>[0]): Promise<CombinerServer> {
  const c = await startCombiner({ logger: false, ...opts });
  f.defer(() => c.close());
  return c;
}

describe('external combiner with a combiner token', () => {
  it('verifies client tokens with the key from the JWKS endpoint (no secret on the combiner)', async () => {
    const server = await f.setup({ secret: SECRET });
    const token = await issueToken({ secret: SECRET, role: 'combiner', sub: 'c2' });
    const c2 = await combinerOf({ controllerUrl: server.url, name: 'c2', token });
    await c2.waitConnected();
    expect(c2.combiner).toBeDefined();

    const anon = await dial(c2.url);
    anon.send(clientHello('kiosk-1'));
    expect(await anon.next((m) => m.kind === 'error' || m.kind === 'welcome', 'answer to a hello without token')).toMatchObject({ kind: 'error', code: 'UNAUTHORIZED' });

    const forged = await dial(c2.url);
    forged.send(clientHello('kiosk-1', await issueToken({ secret: 'some-other-secret-0123456789', role: 'client', sub: 'kiosk-1' })));
    expect(await forged.next((m) => m.kind === 'error' || m.kind === 'welcome', 'answer to a forged token')).toMatchObject({ kind: 'error', code: 'UNAUTHORIZED' });

    // The combiner's own token is not a client token.
    const asClient = await dial(c2.url);
    asClient.send(clientHello('c2', token));
    expect(await asClient.next((m) => m.kind === 'error' || m.kind === 'welcome', 'answer to a combiner token')).toMatchObject({ kind: 'error', code: 'FORBIDDEN' });

    const good = await dial(c2.url);
    good.send(clientHello('kiosk-1', await issueToken({ secret: SECRET, role: 'client', sub: 'kiosk-1' })));
    expect(await good.next((m) => m.kind === 'error' || m.kind === 'welcome', 'answer to a valid token')).toMatchObject({ kind: 'welcome' });
  });

  it('verifies with a --public-key file, and refuses to start without a key rather than turn client auth off', async () => {
    const server = await f.setup({ secret: SECRET });
    const token = await issueToken({ secret: SECRET, role: 'combiner', sub: 'c3' });
    const { dir, cleanup } = await tempDir();
    f.defer(cleanup);
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, await (await fetch(`${server.url}${JWKS_PATH}`)).text());
    // The controller is not even reachable: the file is enough to verify clients.
    const c3 = await combinerOf({ controllerUrl: 'http://127.0.0.1:9', name: 'c3', token, publicKeyFile: jwksFile });
    const anon = await dial(c3.url);
    anon.send(clientHello('kiosk-1'));
    expect(await anon.next((m) => m.kind === 'error' || m.kind === 'welcome', 'answer')).toMatchObject({ kind: 'error', code: 'UNAUTHORIZED' });

    // A token the controller would refuse for this combiner: refused at start, with the reason.
    await expect(startCombiner({ controllerUrl: server.url, name: 'c6', token, logger: false })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/for combiner 'c3'/) });
    const clientToken = await issueToken({ secret: SECRET, role: 'client', sub: 'c6' });
    await expect(startCombiner({ controllerUrl: server.url, name: 'c6', token: clientToken, logger: false })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/role 'client'/) });
    // Unreachable controller, no key file: no start.
    const c4Token = await issueToken({ secret: SECRET, role: 'combiner', sub: 'c4' });
    await expect(startCombiner({ controllerUrl: 'http://127.0.0.1:9', name: 'c4', token: c4Token, logger: false, keyFetchTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/public key.*--public-key/),
    });
    // A controller without auth serves no key: a combiner with a token refuses, unless told it is insecure.
    const open = await f.setup({});
    const c5Token = await issueToken({ secret: SECRET, role: 'combiner', sub: 'c5' });
    await expect(startCombiner({ controllerUrl: open.url, name: 'c5', token: c5Token, logger: false })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/serves no public key/) });
    const insecure = await combinerOf({ controllerUrl: open.url, name: 'c5', token: c5Token, insecureNoClientAuth: true });
    const anyone = await dial(insecure.url);
    anyone.send(clientHello('kiosk-1'));
    expect(await anyone.next((m) => m.kind === 'error' || m.kind === 'welcome', 'answer')).toMatchObject({ kind: 'welcome' });
  });
});

describe('fedweb combiner (real process)', () => {
  it('with --token against a controller that serves no key: exits with the reason instead of running open', async () => {
    const open = await f.setup({});
    const token = await issueToken({ secret: SECRET, role: 'combiner', sub: 'c7' });
    const p = spawnCli(['combiner', '--controller', open.url, '--name', 'c7', '--token', token, '--port', '0']);
    f.defer(() => p.stop());
    const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(p.output()).toMatch(/BAD_CONFIG: .*serves no public key.*--insecure-no-client-auth/);
    expect(p.output()).not.toMatch(/listening on/);
  });
});

describe('combiner registration', () => {
  it('a combiner token registers only its own id; client and operator tokens cannot register at all', async () => {
    const server = await f.setup({ secret: SECRET });
    const wsBase = server.url.replace(/^http/, 'ws');
    const hello = (combinerId: string) => ({ kind: 'combiner.hello', combinerId, url: 'ws://127.0.0.1:1/ws/client' });
    for (const role of ['client', 'operator', 'viewer'] as const) {
      const link = await dial(`${wsBase}/ws/combiner`, await issueToken({ secret: SECRET, role, sub: 'x1' }));
      expect([role, link.refusedStatus]).toEqual([role, 403]);
    }
    const other = await dial(`${wsBase}/ws/combiner`, await issueToken({ secret: SECRET, role: 'combiner', sub: 'c1' }));
    other.send(hello('c9'));
    expect(await other.next((m) => m.kind === 'error', 'refusal')).toMatchObject({ code: 'FORBIDDEN' });
    expect(server.registry.get('c9')).toBeUndefined();
    const own = await dial(`${wsBase}/ws/combiner`, await issueToken({ secret: SECRET, role: 'combiner', sub: 'c1' }));
    own.send(hello('c1'));
    await until(() => server.registry.get('c1'), 5000, 'c1 registered');
  });

  for (const auth of [false, true]) {
    it(`a hello for a live combiner id is refused and does not redirect discovery (auth ${auth ? 'on' : 'off'})`, async () => {
      const server = await f.setup(auth ? { secret: SECRET } : {});
      const wsBase = server.url.replace(/^http/, 'ws');
      const token = auth ? await issueToken({ secret: SECRET, role: 'combiner', sub: 'c2' }) : undefined;
      const c2 = await combinerOf({ controllerUrl: server.url, name: 'c2', ...(token ? { token } : {}) });
      await c2.waitConnected();
      await until(() => server.registry.get('c2'), 5000, 'c2 registered');

      // The takeover: same id, an address of the attacker's choosing (with c2's own token where auth is on).
      const rogue = await dial(`${wsBase}/ws/combiner`, token);
      rogue.send({ kind: 'combiner.hello', combinerId: 'c2', url: 'ws://evil.example:6666/ws/client' });
      expect(await rogue.next((m) => m.kind === 'error', 'refusal')).toMatchObject({ code: 'CONFLICT' });
      await until(() => rogue.closed(), 5000, 'rogue link closed');
      expect(server.registry.get('c2')?.url).toBe(c2.url);
      expect(c2.connected).toBe(true);
      // The embedded combiner leaves: every client is now sent to c2, never to the attacker's address.
      server.registry.get('embedded')!.peer.close(1000, 'test');
      await until(() => !server.registry.get('embedded'), 5000, 'embedded gone');
      const clientToken = auth ? await issueToken({ secret: SECRET, role: 'client', sub: 'k1' }) : undefined;
      const res = await fetch(`${server.url}/api/discover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(clientToken ? { authorization: `Bearer ${clientToken}` } : {}) },
        body: JSON.stringify({ clientId: 'k1' }),
      });
      expect(((await res.json()) as { url: string }).url).toBe(c2.url);
    });
  }
});

describe('a rogue combiner', () => {
  it("cannot make the controller allocate: announcements are checked against the session's model first", async () => {
    const server = await f.setup({ secret: SECRET, embeddedCombiner: false });
    const wsBase = server.url.replace(/^http/, 'ws');
    const rogue = await dial(`${wsBase}/ws/combiner`, await issueToken({ secret: SECRET, role: 'combiner', sub: 'rogue' }));
    rogue.send({ kind: 'combiner.hello', combinerId: 'rogue', url: 'ws://127.0.0.1:1/ws/client' });
    rogue.send({ kind: 'combiner.status', clients: [{ clientId: 'k1', capabilities: {}, connectedAt: Date.now(), lastSeen: Date.now() }] });
    await until(() => server.registry.get('rogue')?.clients.size === 1, 5000, 'rogue registered with its client');
    const announce = (roundId: string, uploadId: string, byteLength: number) =>
      rogue.send({ kind: 'round.partial', roundId, combinerId: 'rogue', uploadId, count: 1, totalWeight: 1, byteLength, chunkCount: 1 });
    const before = process.memoryUsage().arrayBuffers;

    // Unsolicited: no round asked for a partial.
    for (let i = 0; i < 8; i++) announce('no-such-round', `p${i}`, 1_900_000_000);
    const unsolicited = await rogue.next((m) => m.kind === 'error' && m.ref === 'no-such-round', 'refusal of an unsolicited partial');
    expect(unsolicited).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/no partial.*expected/) });

    // Solicited, but far larger than the session's 4-parameter model can need.
    const session = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 10_000 });
    const prepare = await rogue.next((m) => m.kind === 'round.prepare', 'round.prepare');
    rogue.send({ kind: 'round.ready', roundId: prepare.roundId, eligible: ['k1'] });
    const start = await rogue.next((m) => m.kind === 'round.start', 'round.start');
    announce(start.roundId!, 'p-huge', 1_500_000_000);
    const refused = await rogue.next((m) => m.kind === 'error' && m.ref === start.roundId, 'refusal of a huge partial');
    expect(refused).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 20_000).catch(() => null);
    if (!done) await server.controller.stopSession(session.id);
  });
});
