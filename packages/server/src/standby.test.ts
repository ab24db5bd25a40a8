import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BY_EXAMPLES, ONES, SEED, seedPlus, TWOS } from '../test/tiny-session.js';
import { serverFixture } from '../test/fixture.js';
import { startServer } from './server.js';
import { S3BlobStore } from './store/s3-blob-store.js';
import type { ModelRecord, RoundRecord, SessionRecord } from './store/types.js';
import { fetchModelFlat, tempDir, until } from './testing/harness.js';
import { makeTestPackage, writePackageDir } from './testing/package.js';
import pg from 'pg';
import { pgTestSchema, TEST_PG_URL } from './testing/pg.js';
import { startS3Server } from './testing/s3.js';
import { spawnCli, type CliProcess } from './testing/spawn.js';
import { api } from './testing/test-client.js';

const LISTENING = /fedweb server listening on (http:\/\/[0-9.:]+)/;
const f = serverFixture(SEED);

function track(p: CliProcess): CliProcess {
  f.defer(() => p.kill9());
  return p;
}

describe('standby controller (PostgreSQL state, S3 blobs, real processes)', () => {
  it('kill -9 of the leader mid-session: the standby takes over within 15 s and finishes the session from the last committed model; combiner and clients reconnect by themselves', async () => {
    const pg = pgTestSchema('standby');
    f.defer(pg.drop);
    const s3 = await startS3Server();
    f.defer(s3.close);
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    const pkgDir = join(tmp.dir, 'pkg');
    await writePackageDir(pkgDir, await makeTestPackage({ tensors: SEED }));
    // A password in the URL that must never be printed (trust auth ignores it).
    const stateUrl = pg.url.replace('://root@', '://root:pw-never-logged@');
    const prefix = `standby-${randomBytes(3).toString('hex')}/`;
    const blobsUrl = `s3://${s3.bucket}/${prefix}`;
    const args = (dir: string) => ['server', '--state', stateUrl, '--blobs', blobsUrl, '--data-dir', join(tmp.dir, dir), '--package', pkgDir, '--heartbeat-ms', '1000', '--log-level', 'info'];

    const leader = track(spawnCli([...args('a'), '--port', '0'], s3.env));
    const url = (await leader.waitFor(LISTENING))[1] as string;
    const port = new URL(url).port;
    // The standby: same database and schema, same address; it waits for the lease and listens on nothing.
    const standby = track(spawnCli([...args('b'), '--port', port], s3.env));
    await standby.waitFor(/fedweb server standby/);

    // An external combiner and two clients, one on each combiner (least-loaded discovery: c2 sorts first).
    const c2 = track(spawnCli(['combiner', '--controller', url, '--name', 'c2', '--port', '0', '--log-level', 'warn']));
    await c2.waitFor(/fedweb combiner c2 listening on/);
    await until(async () => (await api<{ combiners: unknown[] }>(url, '/api/combiners')).combiners.length === 2, 10_000, 'c2 registered');
    const a = await f.connect(url, { clientId: 'a', onTrain: () => ({ ...ONES, delayMs: 150 }) });
    const b = await f.connect(url, { clientId: 'b', onTrain: () => ({ ...TWOS, delayMs: 150 }) });
    expect(new Set([a.combinerId, b.combinerId])).toEqual(new Set(['c2', 'embedded']));

    // Every round needs both combiners' partials, so a committed round after the takeover proves c2 is back.
    await api(url, '/api/sessions', {
      method: 'POST',
      body: { id: 'ha1', rounds: 6, clientsRequired: 1, encoding: 'f32', roundTimeoutMs: 20_000, validity: { minCombiners: 2 }, ...BY_EXAMPLES },
    });
    await until(async () => (await api<{ session: SessionRecord }>(url, '/api/sessions/ha1')).session.completedRounds >= 2, 30_000, 'two committed rounds');

    const killedAt = Date.now();
    await leader.kill9();
    await standby.waitFor(LISTENING, 15_000);
    const takeoverMs = Date.now() - killedAt;

    const done = await until(async () => {
      const d = await api<{ session: SessionRecord; rounds: RoundRecord[] }>(url, '/api/sessions/ha1');
      return d.session.status === 'completed' ? d : null;
    }, 60_000, 'the session to complete on the new leader');
    expect(done.session.completedRounds).toBe(6);
    const committed = done.rounds.filter((r) => r.status === 'committed');
    expect(committed.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(done.rounds.every((r) => ['committed', 'interrupted'].includes(r.status))).toBe(true);
    for (const r of committed) expect(r.partials.map((p) => p.combinerId).sort()).toEqual(['c2', 'embedded']);
    // One chain of models from the seed, and exactly six rounds of the weighted mean 1.75 in the last one.
    const { models } = await api<{ models: ModelRecord[] }>(url, '/api/models?sessionId=ha1');
    expect(models.map((m) => m.round)).toEqual([1, 2, 3, 4, 5, 6]);
    models.forEach((m, i) => expect(m.parentId).toBe(i === 0 ? done.session.initialModelId : models[i - 1]!.id));
    // The models are in the bucket, under the prefix.
    const bucket = new S3BlobStore({ ...s3.options, prefix });
    f.defer(async () => bucket.close());
    for (const m of models) expect(await bucket.has(m.sha256)).toBe(true);
    expect([...(await fetchModelFlat(url, done.session.currentModelId))]).toEqual(seedPlus(6 * 1.75));
    // The client of the dead leader's embedded combiner reconnected by itself; c2's stayed on c2.
    const onEmbedded = a.combinerId === 'embedded' ? a : b;
    expect(onEmbedded.connections).toBeGreaterThanOrEqual(2);
    // Nothing printed the password.
    for (const p of [leader, standby]) expect(p.output()).not.toContain('pw-never-logged');
    console.log(`standby takeover: ${takeoverMs} ms from kill -9 to listening`);
  }, 150_000);

  it('a standby on its own address answers /healthz 200 and everything else 503 UNAVAILABLE, then serves the API once the leader steps down', async () => {
    const pg = pgTestSchema('standby2');
    f.defer(pg.drop);
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    const quiet = { logLevel: 'warn' as const, stateUrl: pg.url, blobsUrl: join(tmp.dir, 'blobs'), dataDir: tmp.dir, waitPollMs: 100 };
    const leader = await startServer({ ...quiet, port: 0 });
    f.defer(() => leader.close());
    // A free port for the standby (its own pod or host in a real deployment).
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    let standingBy!: () => void;
    const standingByNow = new Promise<void>((r) => (standingBy = r));
    const standby = startServer({ ...quiet, port, onStandby: () => standingBy() });
    f.defer(async () => (await standby).close());
    await standingByNow;
    const base = `http://127.0.0.1:${port}`;
    const health = await until(() => fetch(`${base}/healthz`).then((r) => (r.ok ? r.json() : null), () => null), 10_000, 'the standby to answer /healthz');
    expect(health).toEqual({ kind: 'health', role: 'standby' });
    const status = await fetch(`${base}/api/status`);
    expect(status.status).toBe(503);
    expect(await status.json()).toMatchObject({ code: 'UNAVAILABLE' });

    await leader.close();
    const taken = await standby;
    expect(taken.url).toBe(base);
    expect((await fetch(`${base}/api/status`)).status).toBe(200);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ kind: 'health', role: 'leader' });
    await taken.close();
  });

  it('a leader whose lease connection dies gets onLeaseLost at once (where the CLI exits with status 1), so two controllers never lead together', async () => {
    const pgs = pgTestSchema('lease');
    f.defer(pgs.drop);
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    const app = `fedweb_lease_${process.pid}`;
    let lost!: () => void;
    const leaseLost = new Promise<void>((r) => (lost = r));
    const leader = await startServer({ logLevel: 'silent', stateUrl: `${pgs.url}&application_name=${app}`, dataDir: tmp.dir, port: 0, onLeaseLost: () => lost() });
    f.defer(() => leader.close());
    // What a network cut or a PostgreSQL restart does to the lease's connection.
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    f.defer(() => admin.end());
    const { rows } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
    expect(rows.length).toBeGreaterThan(0);
    await leaseLost;
  });
});
