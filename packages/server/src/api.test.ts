import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { issueToken } from './auth.js';
import { startCombiner } from './combiner/process.js';
import { serverFixture } from '../test/fixture.js';
import { tempDir, until } from './testing/harness.js';
import { makeTestPackage, uploadPackage } from './testing/package.js';
import { api, TestClient } from './testing/test-client.js';

const SECRET = 'a-test-secret-of-enough-length';
const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];

const f = serverFixture(SEED);

/** A server with auth on and no package yet, and tokens of each role (plus one signed with another secret). */
async function authServer() {
  const server = await f.setup({ secret: SECRET, seed: null });
  const token = (role: 'admin' | 'operator' | 'viewer' | 'client', sub: string, secret = SECRET) => issueToken({ secret, role, sub });
  return {
    server,
    url: server.url,
    admin: await token('admin', 'root'),
    operator: await token('operator', 'ops'),
    viewer: await token('viewer', 'eyes'),
    kiosk: await token('client', 'kiosk-17'),
    forged: await token('admin', 'root', 'another-secret-of-enough-length'),
  };
}

async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}

const json = (body: unknown, token?: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('REST API', () => {
  it('answers bad bodies with 400 and a typed code, and serves models with ETag and 304', async () => {
    const server = await f.setup();
    const url = server.url;

    let r = await raw(`${url}/api/sessions`, json({ rounds: -1 }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ kind: 'error', code: 'BAD_CONFIG' });
    expect(r.body.message).toMatch(/rounds/);
    r = await raw(`${url}/api/sessions`, json({ rounds: 1, bogus: true }));
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('BAD_CONFIG');
    r = await raw(`${url}/api/sessions`, json({ strategy: { name: 'no-such-strategy' } }));
    expect([r.status, r.body.code]).toEqual([400, 'BAD_CONFIG']);
    r = await raw(`${url}/api/sessions`, json('{"rounds": '));
    expect([r.status, r.body.code]).toEqual([400, 'BAD_CONFIG']);
    r = await raw(`${url}/api/discover`, json({ clientId: 'bad id with spaces' }));
    expect([r.status, r.body.code]).toEqual([400, 'BAD_CONFIG']);
    r = await raw(`${url}/api/packages`, json({ manifest: { name: 'x' }, bundle: 'AAAA', seedModel: 'AAAA' }));
    expect([r.status, r.body.code]).toEqual([422, 'PACKAGE_INVALID']);
    r = await raw(`${url}/api/sessions/nope`);
    expect([r.status, r.body.code]).toEqual([404, 'NOT_FOUND']);
    r = await raw(`${url}/api/nothing-here`);
    expect([r.status, r.body.code]).toEqual([404, 'NOT_FOUND']);
    r = await raw(`${url}/api/discover`, json({ clientId: 'x' }));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ combinerId: 'embedded', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/client$/) });

    // A second active session conflicts.
    const s = await server.controller.startSession({ rounds: 3 });
    r = await raw(`${url}/api/sessions`, json({ rounds: 1 }));
    expect([r.status, r.body.code]).toEqual([409, 'CONFLICT']);
    await server.controller.stopSession(s.id);

    // Models: immutable, ETag = SHA-256, 304 on If-None-Match; COOP/COEP on every response.
    const { package: pkg } = await api(url, '/api/packages/active');
    const res = await fetch(`${url}${pkg.seedModel.url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${pkg.seedModel.sha256}"`);
    expect(res.headers.get('cache-control')).toMatch(/immutable/);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const again = await fetch(`${url}${pkg.seedModel.url}`, { headers: { 'if-none-match': `"${pkg.seedModel.sha256}"` } });
    expect(again.status).toBe(304);
    const bundle = await fetch(`${url}${pkg.bundle.url}`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(bundle.headers.get('etag')).toBe(`"${pkg.sha256}"`);

    const dash = await fetch(`${url}/dashboard`);
    expect(dash.status).toBe(200);
    expect(await dash.text()).toMatch(/fedweb dashboard/);
  });
});

describe('package manifests by hash', () => {
  it('serves the stored manifest of any package (not only the active one), immutable, with an ETag and 304', async () => {
    const { url, operator, kiosk } = await authServer();
    const old = await makeTestPackage({ tensors: SEED, name: 'old', version: '1.0.0' });
    const current = await makeTestPackage({ tensors: SEED, name: 'current', version: '2.0.0' });
    await uploadPackage(url, old, operator);
    await uploadPackage(url, current, operator);
    const { package: active } = await api(url, '/api/packages/active', { token: kiosk });
    expect(active.name).toBe('current');

    // The package that is no longer active, by its hash, with a client token.
    const oldSha = old.manifest.sha256 as string;
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${kiosk}`, ...headers } });
    const res = await get(`/api/packages/${oldSha}/manifest`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('cache-control')).toMatch(/immutable/);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body).toMatchObject({ name: 'old', version: '1.0.0', sha256: oldSha, bytes: old.bundle.byteLength });
    const { createHash } = await import('node:crypto');
    const etag = `"${createHash('sha256').update(text).digest('hex')}"`;
    expect(res.headers.get('etag')).toBe(etag);
    expect((await get(`/api/packages/${oldSha}/manifest`, { 'if-none-match': etag })).status).toBe(304);
    // The active one's manifest is the one /api/packages/active shows.
    expect(await (await get(`/api/packages/${active.sha256}/manifest`)).json()).toEqual(active.manifest);

    expect((await get(`/api/packages/${'0'.repeat(64)}/manifest`)).status).toBe(404);
    expect((await get('/api/packages/not-a-hash/manifest')).status).toBe(400);
    expect((await fetch(`${url}/api/packages/${oldSha}/manifest`)).status).toBe(401);
  });
});

describe('model trail', () => {
  it('lists the trail without server file paths (blob paths stay internal), with download URLs', async () => {
    const t = await f.start();
    await f.connect(t.server, { clientId: 'a', onTrain: () => ({ delta: new Float32Array([1, 1]), numExamples: 1, encoding: 'f32' }) });
    const s = await t.server.controller.startSession({ rounds: 1, encoding: 'f32' });
    expect((await t.server.controller.waitForSession(s.id, ['completed', 'failed'], 20_000)).status).toBe('completed');
    for (const path of ['/api/models', `/api/models?sessionId=${s.id}`]) {
      const res = await fetch(`${t.server.url}${path}`);
      const text = await res.text();
      const { models } = JSON.parse(text) as { models: Array<Record<string, unknown>> };
      expect(models.length, path).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(t.dir);
      for (const m of models) {
        expect(Object.keys(m).sort()).toEqual(['bytes', 'createdAt', 'id', 'metrics', 'parentId', 'round', 'sessionId', 'sha256', 'url']);
        expect(m.url).toBe(`/api/models/${encodeURIComponent(m.id as string)}`);
      }
    }
    // No other response carries a server path either.
    for (const path of ['/api/status', '/api/sessions', `/api/sessions/${s.id}`, '/api/packages/active', '/api/clients', '/api/combiners']) {
      expect(await (await fetch(`${t.server.url}${path}`)).text(), path).not.toContain(t.dir);
    }
    // The in-process API still has them (the trail row records where the blob lives).
    const trail = await t.server.controller.modelTrail(s.id);
    expect(trail[0]!.blobPath.startsWith(t.dir)).toBe(true);
  });
});

describe('static site and plugins', () => {
  it('serves a static folder at / and registers plugins, with COOP/COEP on every response', async () => {
    const site = await tempDir();
    f.defer(site.cleanup);
    await mkdir(join(site.dir, 'assets'), { recursive: true });
    await writeFile(join(site.dir, 'index.html'), '<!doctype html><title>demo</title>');
    await writeFile(join(site.dir, 'assets', 'app.js'), 'export const x = 1;');
    const plugin: FastifyPluginAsync = async (app) => {
      app.get('/api/sim/ping', async () => ({ pong: true }));
    };
    const server = await f.setup({ staticDir: site.dir, plugins: [plugin], seed: null });
    for (const path of ['/', '/assets/app.js', '/api/sim/ping', '/api/status', '/api/missing']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
    }
    expect(await (await fetch(`${server.url}/`)).text()).toMatch(/<title>demo<\/title>/);
    expect(await (await fetch(`${server.url}/api/sim/ping`)).json()).toEqual({ pong: true });
  });
});

describe('auth', () => {
  it('is off without a secret (anyone may call anything)', async () => {
    const server = await f.setup();
    expect(server.authEnabled).toBe(false);
    expect((await raw(`${server.url}/api/sessions`)).status).toBe(200);
    const c = await f.connect(server, { clientId: 'anyone' });
    expect(c.connected).toBe(true);
  });

  it('with a secret, requires a JWT on every HTTP and WebSocket call and enforces roles', async () => {
    const { server, url, admin, operator, viewer, kiosk, forged } = await authServer();

    // No token, a forged token: 401.
    for (const token of [undefined, forged, 'not.a.jwt']) {
      const r = await raw(`${url}/api/status`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      expect([r.status, r.body.code]).toEqual([401, 'UNAUTHORIZED']);
    }
    await uploadPackage(url, await makeTestPackage({ tensors: SEED }), operator);

    // Roles.
    const get = (path: string, token: string) => raw(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get('/api/sessions', viewer)).status).toBe(200);
    expect((await get('/api/clients', kiosk)).body.code).toBe('FORBIDDEN');
    expect((await raw(`${url}/api/sessions`, json({ rounds: 1 }, viewer))).body.code).toBe('FORBIDDEN');
    expect((await raw(`${url}/api/sessions`, json({ rounds: 1 }, kiosk))).status).toBe(403);
    expect((await get('/api/packages/active', kiosk)).status).toBe(200);
    expect((await get(`/api/status?token=${viewer}`, 'x')).status).toBe(401); // a bad header wins over the query
    expect((await raw(`${url}/api/status?token=${viewer}`)).status).toBe(200);

    // A client token discovers and joins only as itself.
    expect((await raw(`${url}/api/discover`, json({ clientId: 'kiosk-18' }, kiosk))).body.code).toBe('FORBIDDEN');
    await f.connect(server, { clientId: 'kiosk-17', token: kiosk });
    await expect(TestClient.connect({ baseUrl: url, clientId: 'kiosk-17', autoReconnect: false })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    // Joining the WebSocket directly as someone else with a client token is refused.
    const { url: wsUrl } = await api(url, '/api/discover', { body: { clientId: 'kiosk-17' }, token: kiosk });
    const ws = new WebSocket(wsUrl);
    const refused = await new Promise<{ code: string }>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ v: 2, kind: 'hello', clientId: 'kiosk-99', token: kiosk, capabilities: {} })));
      ws.on('message', (d) => resolve(JSON.parse(d.toString()) as { code: string }));
      ws.on('error', reject);
    });
    expect(refused.code).toBe('FORBIDDEN');
    ws.terminate();

    // An external combiner without a token is refused; with the secret it derives one and registers.
    const noToken = await startCombiner({ controllerUrl: url, name: 'c-anon', logger: false });
    f.defer(() => noToken.close());
    await expect(noToken.waitConnected(1500)).rejects.toMatchObject({ code: 'TIMEOUT' });
    const c2 = await startCombiner({ controllerUrl: url, name: 'c2', secret: SECRET, logger: false });
    f.defer(() => c2.close());
    await c2.waitConnected();
    await until(() => server.registry.get('c2'), 5000, 'c2 registered');
    expect(server.registry.get('c-anon')).toBeUndefined();

    // An admin may run a session; the client with its token trains in it.
    const s = await api(url, '/api/sessions', { body: { rounds: 1, encoding: 'f32' }, token: admin });
    const done = await server.controller.waitForSession(s.session.id, ['completed', 'failed'], 20_000);
    expect(done.status).toBe('completed');
  });
});
