import { describe, expect, it } from 'vitest';
import { issueToken } from '../auth.js';
import { ApiClient } from '../api-client/index.js';
import { serverFixture } from '../../test/fixture.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { until } from '../testing/harness.js';
import { makeTestPackage } from '../testing/package.js';
import type { TrainTask } from '../testing/test-client.js';

const SECRET = 'a-test-secret-of-enough-length';
const SEED = [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }];
const f = serverFixture(SEED);
/** The round a task belongs to (round ids are `<session>.r<round>.<nonce>`). */
const roundOf = (t: TrainTask): number => Number(/\.r(\d+)\.[^.]+$/.exec(t.roundId)?.[1]);

describe('session rollback', () => {
  it("starts the next round from the chosen model of the trail (by hash), aborts the round in flight, and is audited", async () => {
    const server = await f.setup({ secret: SECRET });
    const ops = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' }) });
    const admin = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'admin', sub: 'root' }) });
    const tasks: TrainTask[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    await f.connect(server, {
      clientId: 'k1',
      token: await issueToken({ secret: SECRET, role: 'client', sub: 'k1' }),
      onTrain: async (task) => {
        tasks.push(task);
        // The first task of round 3 is held until the test has rolled back (its round is then aborted).
        if (roundOf(task) === 3 && tasks.filter((t) => roundOf(t) === 3).length === 1) await gate;
        return { delta: new Float32Array([1, 1]), numExamples: 1 };
      },
    });
    const started = await ops.startSession({ id: 'rb', rounds: 4, roundTimeoutMs: 20_000 });
    await until(() => tasks.find((t) => roundOf(t) === 3), 20_000, 'round 3 task');
    const trail = await ops.listModels('rb');
    const m1 = trail.find((m) => m.id === 'rb.m1');
    const m2 = trail.find((m) => m.id === 'rb.m2');
    expect(m1 && m2 && m1.sha256 !== m2.sha256).toBe(true);
    expect(tasks.find((t) => roundOf(t) === 3)?.model.sha256).toBe(m2?.sha256);

    const { session, previousModelId } = await ops.rollbackSession('rb', 'rb.m1');
    expect(previousModelId).toBe('rb.m2');
    expect(session).toMatchObject({ id: 'rb', status: 'running', currentModelId: 'rb.m1', completedRounds: 2 });
    release();

    // The rerun of round 3 trains m1: the task names m1's hash, and the bytes served for it (the blob its
    // BlobRef names: the download stream restarts at m1 in full, no delta from m2's reconstruction) hash to it.
    const rerun = await until(() => tasks.filter((t) => roundOf(t) === 3)[1], 20_000, 'round 3 rerun');
    expect(rerun.model.sha256).toBe(m1?.sha256);
    expect(rerun.model.url).toBe(`/api/blobs/${m1?.sha256}`);
    expect(rerun.download?.delta).toBeUndefined();
    expect(sha256Node(await ops.downloadBlob(rerun.model.sha256))).toBe(m1?.sha256);
    const done = await server.controller.waitForSession('rb', ['completed', 'failed', 'stopped'], 30_000);
    expect(done.status).toBe('completed');
    const after = await ops.listModels('rb');
    expect(after.find((m) => m.id === 'rb.m3')?.parentId).toBe('rb.m1');
    const rounds = (await ops.getSession('rb')).rounds.filter((r) => r.round === 3);
    expect(rounds.map((r) => [r.status, r.reason])).toEqual(expect.arrayContaining([['aborted', 'session rolled back'], ['committed', null]]));
    expect(started.status).toBe('running');

    const { entries } = await admin.listAudit({ action: 'session.rollback' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'ops', role: 'operator', action: 'session.rollback', target: 'rb', detail: { modelId: 'rb.m1', previousModelId: 'rb.m2' } });
  });

  it('refuses a model outside the trail, an ended session, and a viewer', async () => {
    const server = await f.setup({ secret: SECRET });
    const ops = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' }) });
    const viewer = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'viewer', sub: 'eyes' }) });
    const s = await ops.startSession({ id: 'r2', rounds: 1 });
    // The seed the session started from is in its trail; another package's seed is not.
    const other = await ops.uploadPackage({ ...(await makeTestPackage({ tensors: [{ name: 'w0', shape: [2], data: new Float32Array([7, 8]) }], name: 'other' })), activate: false });
    await expect(ops.rollbackSession('r2', other.seedModel?.id ?? 'x')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(ops.rollbackSession('r2', 'no-such-model')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(viewer.rollbackSession('r2', s.initialModelId)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await ops.rollbackSession('r2', s.initialModelId)).session.currentModelId).toBe(s.initialModelId);
    await ops.stopSession('r2');
    await expect(ops.rollbackSession('r2', s.initialModelId)).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
