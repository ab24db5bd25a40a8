import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../api-client/index.js';
import { issueToken } from '../../auth.js';
import { serverFixture } from '../../../test/fixture.js';
import { tempDir } from '../../testing/harness.js';
import { pgTestSchema } from '../../testing/pg.js';
import { makeTestPackage, writePackageDir } from '../../testing/package.js';

const SECRET = 'a-test-secret-of-enough-length';
const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];
const f = serverFixture(SEED);

describe('GET /api/audit', () => {
  it('records every operator action with who, what and when, newest first, paged and filtered', async () => {
    const t0 = Date.now();
    const server = await f.setup({ secret: SECRET, seed: null });
    const ops = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' }) });
    const admin = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'admin', sub: 'root' }) });
    const pkg = await admin.uploadPackage(await makeTestPackage({ tensors: SEED }));
    const s = await ops.startSession({ id: 'a1', rounds: 2 });
    await ops.pauseSession('a1');
    await ops.resumeSession('a1');
    await ops.stopSession('a1');
    const issued = await admin.issueToken({ role: 'client', sub: 'kiosk-9', ttl: '1h' });

    const { entries, next } = await admin.listAudit();
    expect(next).toBeNull();
    expect(entries.map((e) => [e.action, e.actor, e.role, e.target])).toEqual([
      ['token.issue', 'root', 'admin', 'kiosk-9'],
      ['session.stop', 'ops', 'operator', 'a1'],
      ['session.resume', 'ops', 'operator', 'a1'],
      ['session.pause', 'ops', 'operator', 'a1'],
      ['session.start', 'ops', 'operator', 'a1'],
      ['package.activate', 'root', 'admin', pkg.sha256],
      ['package.upload', 'root', 'admin', pkg.sha256],
    ]);
    expect(entries[0]?.detail).toEqual({ role: 'client', exp: issued.exp });
    expect(JSON.stringify(entries)).not.toContain(issued.token);
    expect(entries[4]?.detail).toMatchObject({ rounds: 2, strategy: 'fedavg', initialModelId: s.initialModelId });
    for (const e of entries) expect(e.at).toBeGreaterThanOrEqual(t0);

    // Pages of 3 follow `next` and add up to the whole log.
    const p1 = await admin.listAudit({ limit: 3 });
    expect(p1.entries.map((e) => e.id)).toEqual(entries.slice(0, 3).map((e) => e.id));
    const p2 = await admin.listAudit({ limit: 3, cursor: p1.next ?? '' });
    expect(p2.entries.map((e) => e.id)).toEqual(entries.slice(3, 6).map((e) => e.id));
    const all = [];
    for await (const e of admin.allAudit({ limit: 2 })) all.push(e.id);
    expect(all).toEqual(entries.map((e) => e.id));

    expect((await admin.listAudit({ action: 'session.start' })).entries.map((e) => e.target)).toEqual(['a1']);
    const since = entries[1]!.at;
    expect((await admin.listAudit({ since: new Date(since).toISOString() })).entries.every((e) => e.at >= since)).toBe(true);
    expect((await admin.listAudit({ since: Date.now() + 60_000 })).entries).toEqual([]);
    await expect(admin.request('/api/audit?action=no.such')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(admin.request('/api/audit?cursor=-1')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(admin.request('/api/audit?since=yesterday')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(ops.listAudit()).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("names the actor 'anonymous' with auth off and 'local' for the package the server loads at start", async () => {
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    await writePackageDir(join(tmp.dir, 'pkg'), await makeTestPackage({ tensors: SEED }));
    const server = await f.setup({ seed: null, computePackage: { dir: join(tmp.dir, 'pkg') } });
    const api = new ApiClient({ baseUrl: server.url });
    await api.startSession({ id: 'anon', rounds: 1 });
    const { entries } = await api.listAudit();
    expect(entries.map((e) => [e.action, e.actor, e.role])).toEqual([
      ['session.start', 'anonymous', null],
      ['package.activate', 'local', null],
      ['package.upload', 'local', null],
    ]);
  });

  it('keeps the log in PostgreSQL when the state is there, across a controller restart', async () => {
    const pgs = pgTestSchema('audit');
    f.defer(pgs.drop);
    const first = await f.start({ stateUrl: pgs.url });
    const api = new ApiClient({ baseUrl: first.server.url });
    await api.startSession({ id: 'pg1', rounds: 1 });
    await api.stopSession('pg1');
    await first.server.close();
    const second = await f.setup({ stateUrl: pgs.url, seed: null });
    const { entries } = await new ApiClient({ baseUrl: second.url }).listAudit({ action: 'session.stop' });
    expect(entries.map((e) => [e.action, e.target, e.actor])).toEqual([['session.stop', 'pg1', 'anonymous']]);
  });
});
