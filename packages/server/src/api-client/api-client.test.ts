import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, flattenTensors, sha256Hex } from '@fedweb/codec';
import { issueToken } from '../auth.js';
import { startTestServer } from '../testing/harness.js';
import { makeTestPackage } from '../testing/package.js';
import { ApiClient } from './api-client.js';

const SECRET = 'a-test-secret-of-enough-length';
const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A server on 127.0.0.1 that answers every request with `status` and `body` (hostile-response tests). */
async function hostileServer(answer: (path: string) => { status: number; body: string; type?: string }): Promise<string> {
  const srv: Server = createServer((req, res) => {
    const a = answer(req.url ?? '/');
    res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

describe('ApiClient against a real server', () => {
  it('covers status, packages, sessions, models, discovery, clients and combiners with typed results', async () => {
    const t = await startTestServer({ secret: SECRET });
    cleanups.push(t.cleanup);
    const admin = new ApiClient({ baseUrl: `${t.server.url}/`, token: await issueToken({ secret: SECRET, role: 'admin', sub: 'ops' }) });

    const pkg = await makeTestPackage({ tensors: SEED, name: 'typed', version: '1.2.3' });
    const uploaded = await admin.uploadPackage(pkg);
    expect(uploaded).toMatchObject({ name: 'typed', version: '1.2.3', active: true });
    expect((await admin.activePackage()).sha256).toBe(uploaded.sha256);
    expect(await admin.packageManifest(uploaded.sha256)).toMatchObject({ name: 'typed', sha256: uploaded.sha256 });

    const status = await admin.status();
    expect(status).toMatchObject({ kind: 'status', auth: true, activeSession: null, package: { name: 'typed' } });

    const s = await admin.startSession({ id: 'typed-1', rounds: 2, encoding: 'f32' });
    expect(s).toMatchObject({ id: 'typed-1', status: 'running', config: { rounds: 2, encoding: 'f32' } });
    expect((await admin.listSessions()).map((x) => x.id)).toEqual(['typed-1']);
    expect((await admin.pauseSession('typed-1')).status).toBe('paused');
    expect((await admin.resumeSession('typed-1')).status).toBe('running');
    const detail = await admin.getSession('typed-1');
    expect(detail.session.id).toBe('typed-1');
    expect(Array.isArray(detail.rounds)).toBe(true);
    expect((await admin.stopSession('typed-1')).status).toBe('stopped');

    const models = await admin.listModels('typed-1');
    const seed = models.find((m) => m.id === s.initialModelId) ?? (await admin.listModels()).find((m) => m.id === s.initialModelId);
    expect(seed).toBeDefined();
    const bytes = await admin.downloadModel(s.initialModelId);
    expect(await sha256Hex(bytes)).toBe(seed!.sha256);
    expect([...flattenTensors(await decodeFrame(bytes))]).toEqual([1, 2]);
    // The same bytes as a content-addressed blob, and the package bundle by its hash.
    expect(await admin.downloadBlob(seed!.sha256)).toEqual(bytes);
    expect(await sha256Hex(await admin.downloadPackage(uploaded.sha256))).toBe(uploaded.sha256);
    await expect(admin.downloadBlob('NOT-A-HASH')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    expect((await admin.jwks()).keys).toHaveLength(1);

    expect(await admin.discover('kiosk-1')).toEqual({ combinerId: 'embedded', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/client$/) });
    expect(await admin.listClients()).toEqual({ clients: [], online: 0, next: null });
    expect((await admin.listCombiners()).map((c) => [c.combinerId, c.embedded])).toEqual([['embedded', true]]);
  });

  it('turns bad input and refusals into FedErrors with the server code', async () => {
    const t = await startTestServer({ secret: SECRET, seed: SEED });
    cleanups.push(t.cleanup);
    const admin = new ApiClient({ baseUrl: t.server.url, token: await issueToken({ secret: SECRET, role: 'admin', sub: 'ops' }) });
    await expect(admin.startSession({ rounds: -1 })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/rounds/), details: { status: 400 } });
    await expect(admin.startSession({ strategy: { name: 'no-such-strategy' } })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(admin.getSession('nope')).rejects.toMatchObject({ code: 'NOT_FOUND', details: { status: 404 } });
    await expect(admin.discover('bad id with spaces')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(admin.packageManifest('not-a-hash')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(admin.uploadPackage({ manifest: { name: 'x' }, bundle: new Uint8Array([0]), seedModel: new Uint8Array([0]) })).rejects.toMatchObject({ code: 'PACKAGE_INVALID' });
    await expect(new ApiClient({ baseUrl: t.server.url }).listSessions()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const viewer = new ApiClient({ baseUrl: t.server.url, token: await issueToken({ secret: SECRET, role: 'viewer', sub: 'v' }) });
    await expect(viewer.startSession({ rounds: 1 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const aborted = new AbortController();
    aborted.abort();
    await expect(admin.status({ signal: aborted.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    // A client-wide signal still cancels a call that brings its own.
    const stopped = new ApiClient({ baseUrl: t.server.url, signal: aborted.signal });
    await expect(stopped.status({ signal: new AbortController().signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('the session seed', () => {
  it('is shown to operators and not to viewers (list and detail)', async () => {
    const t = await startTestServer({ secret: SECRET, seed: SEED });
    cleanups.push(t.cleanup);
    const operator = new ApiClient({ baseUrl: t.server.url, token: await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' }) });
    const viewer = new ApiClient({ baseUrl: t.server.url, token: await issueToken({ secret: SECRET, role: 'viewer', sub: 'v' }) });
    const s = await operator.startSession({ rounds: 1, seed: 12345 });
    expect((await operator.getSession(s.id)).session.config.seed).toBe(12345);
    expect((await operator.listSessions()).find((x) => x.id === s.id)?.config.seed).toBe(12345);
    const seen = await viewer.getSession(s.id);
    expect(seen.session.config).not.toHaveProperty('seed');
    expect(seen.session.config.rounds).toBe(1);
    expect((await viewer.listSessions()).find((x) => x.id === s.id)?.config).not.toHaveProperty('seed');
  });
});

describe('ApiClient against a hostile server', () => {
  it('refuses garbage, wrong shapes, oversized bodies and proxy pages with typed errors', async () => {
    const base = await hostileServer((path) => {
      if (path === '/api/status') return { status: 200, body: '{"kind":"status", "clientsOnline": ' };
      if (path === '/api/sessions') return { status: 200, body: JSON.stringify({ sessions: [{ id: 42, status: 'running' }] }) };
      if (path.startsWith('/api/models/')) return { status: 200, body: 'x'.repeat(4096), type: 'application/octet-stream' };
      if (path === '/api/clients') return { status: 200, body: JSON.stringify({ kind: 'error', code: 'NOT_FOUND', message: 'a 200 pretending to fail' }) };
      if (path === '/api/combiners') return { status: 500, body: JSON.stringify({ kind: 'error', code: 'EVIL', message: 'x'.repeat(100) }) };
      return { status: 502, body: '<html>bad gateway</html>', type: 'text/html' };
    });
    const api = new ApiClient({ baseUrl: base, timeoutMs: 5000 });
    await expect(api.status()).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    await expect(api.listSessions()).rejects.toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/sessions\.0/) });
    await expect(api.downloadModel('m1', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE' });
    await expect(api.listClients()).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    // An unknown code in an error body is not believed: the status decides (500 -> retryable UNAVAILABLE).
    await expect(api.listCombiners()).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    await expect(api.activePackage()).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { status: 502 } });
  });
});
