import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ONES, SEED, seedPlus, TWOS } from '../test/tiny-session.js';
import { serverFixture } from '../test/fixture.js';
import type { SessionRecord, RoundRecord, ModelRecord } from './store/types.js';
import { fetchModelFlat, tempDir, until } from './testing/harness.js';
import { makeTestPackage, writePackageDir } from './testing/package.js';
import { spawnCli, type CliProcess } from './testing/spawn.js';
import { api, type TestClient, type TestUpdate } from './testing/test-client.js';

const LISTENING = /listening on (http:\/\/[0-9.:]+)/;

const f = serverFixture(SEED);

function track(p: CliProcess): CliProcess {
  f.defer(() => p.kill9());
  return p;
}

function client(baseUrl: string, clientId: string, update: TestUpdate): Promise<TestClient> {
  return f.connect(baseUrl, { clientId, onTrain: () => update });
}

describe('process failures', () => {
  it('resumes a session from the last committed model after kill -9 of the controller (same session, next round)', async () => {
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    const pkgDir = join(tmp.dir, 'pkg');
    await writePackageDir(pkgDir, await makeTestPackage({ tensors: SEED }));
    const args = ['server', '--data-dir', join(tmp.dir, 'data'), '--package', pkgDir, '--heartbeat-ms', '1000', '--log-level', 'info'];
    const first = track(spawnCli([...args, '--port', '0']));
    const url = (await first.waitFor(LISTENING))[1] as string;
    const port = new URL(url).port;

    // Each round takes a little while, so the kill lands mid-session.
    const a = await client(url, 'a', { ...ONES, delayMs: 150 });
    const b = await client(url, 'b', { ...TWOS, delayMs: 150 });
    // Start the session with the CLI's REST client.
    const starter = spawnCli(['session', 'start', '--url', url, '--id', 'crash1', '--rounds', '5', '--clients-required', '2', '--encoding', 'f32', '--round-timeout-ms', '20000', '--json']);
    await starter.waitFor(/"id": "crash1"/);
    await until(async () => (await api<{ session: SessionRecord }>(url, '/api/sessions/crash1')).session.completedRounds >= 2, 30_000, 'two committed rounds');

    await first.kill9();
    const second = track(spawnCli([...args, '--port', port]));
    await second.waitFor(LISTENING);

    const done = await until(async () => {
      const d = await api<{ session: SessionRecord; rounds: RoundRecord[] }>(url, '/api/sessions/crash1');
      return d.session.status === 'completed' ? d : null;
    }, 60_000, 'the session to complete after the restart');
    expect(done.session.id).toBe('crash1');
    expect(done.session.completedRounds).toBe(5);
    // Every round number was committed exactly once; a round cut by the kill was re-run under a new round id.
    const committed = done.rounds.filter((r) => r.status === 'committed');
    expect(committed.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(done.rounds.map((r) => r.id)).size).toBe(done.rounds.length);
    expect(done.rounds.every((r) => ['committed', 'interrupted'].includes(r.status))).toBe(true);
    // The trail is one chain from the seed model, and the final model saw exactly five rounds.
    const { models } = await api<{ models: ModelRecord[] }>(url, '/api/models?sessionId=crash1');
    expect(models.map((m) => m.round)).toEqual([1, 2, 3, 4, 5]);
    models.forEach((m, i) => expect(m.parentId).toBe(i === 0 ? done.session.initialModelId : models[i - 1]!.id));
    // Round 1 weighs both updates the same (+1.5: no claims to cap against yet), rounds 2-5 by their claims
    // (+1.75: the cap, 2x the previous median claim, is restored from the store after the kill).
    expect([...(await fetchModelFlat(url, done.session.currentModelId))]).toEqual(seedPlus(1.5 + 4 * 1.75));
    // The clients reconnected by themselves.
    expect(a.connections).toBeGreaterThanOrEqual(2);
    expect(b.connections).toBeGreaterThanOrEqual(2);
  });

  it('completes the round from the other combiner when a combiner process dies, and reassigns its clients within 10 s', async () => {
    const server = await f.setup({ heartbeatMs: 1000 });
    const c2 = track(spawnCli(['combiner', '--controller', server.url, '--name', 'c2', '--port', '0', '--log-level', 'warn']));
    await c2.waitFor(/fedweb combiner c2 listening on/);
    await until(() => server.registry.list().length === 2, 10_000, 'c2 registered');

    // Least-loaded discovery alternates: c2 (id sorts first), embedded, c2, embedded.
    const slow: TestUpdate = { ...TWOS, delayMs: 60_000 };
    const clients = [
      await client(server.url, 'p', ONES),
      await client(server.url, 'q', ONES),
      await client(server.url, 'r', ONES),
      await client(server.url, 's', ONES),
    ];
    const onC2 = clients.filter((c) => c.combinerId === 'c2');
    const onEmbedded = clients.filter((c) => c.combinerId === 'embedded');
    expect(onC2).toHaveLength(2);
    expect(onEmbedded).toHaveLength(2);
    // c2's clients would answer only after a minute: the round can only finish because c2's part is dropped.
    for (const c of onC2) (c.opts as { onTrain?: () => TestUpdate }).onTrain = () => slow;
    await until(() => server.registry.list().every((c) => c.clients.size === 2), 10_000, 'status from both combiners');

    const acks = onEmbedded.map((c) => c.waitFor('update.ack'));
    const tasksOnC2 = onC2.map((c) => c.waitFor('task.train'));
    const s = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 120_000, encoding: 'f32' });
    await Promise.all([...acks, ...tasksOnC2]);

    await c2.kill9();
    // Reassignment: c2's clients rediscover and join the embedded combiner within 10 s.
    await until(() => onC2.every((c) => c.connected && c.combinerId === 'embedded'), 10_000, "c2's clients on the embedded combiner");
    // ... and the REST view agrees once the combiner's (debounced) status arrives.
    await until(async () => {
      const { clients: listed } = await api<{ clients: Array<{ online: boolean; combinerId: string | null }> }>(server.url, '/api/clients');
      return listed.length === 4 && listed.every((c) => c.online && c.combinerId === 'embedded');
    }, 5_000, 'all four clients online on the embedded combiner');

    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 30_000);
    expect(done.status).toBe('completed');
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(r.status).toBe('committed');
    expect(r.partials.map((p) => p.combinerId)).toEqual(['embedded']);
    expect(r.updates).toBe(2);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1));
  });
});
