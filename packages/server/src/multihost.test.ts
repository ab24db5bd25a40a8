/**
 * Combiners on several hosts, partitioned for real: network namespaces (testing/netns.ts) give the controller and
 * two combiners a host each, started with the CLI inside them; the test runner is the clients host. Combiner
 * `cb` is cut off the network (link down: nothing is closed, packets vanish) in the middle of round 2.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LAYOUT, SEED, seedPlus } from '../test/tiny-session.js';
import { issueToken } from './auth.js';
import type { ModelRecord, RoundRecord, SessionRecord } from './store/types.js';
import { fetchModelFlat, tempDir, until } from './testing/harness.js';
import { NetLab, netLabUnavailable } from './testing/netns.js';
import { makeTestPackage, writePackageDir } from './testing/package.js';
import { spawnCli, type CliProcess } from './testing/spawn.js';
import { api, TestClient, type TrainTask } from './testing/test-client.js';

const unavailable = await netLabUnavailable();
if (unavailable) console.warn(`multihost.test.ts skipped: ${unavailable}`);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Client `i` (p=0, q=1, ...) sends a delta of `round * (i + 1)` on every parameter, from 1 example. */
const IDS = ['p', 'q', 'r', 's', 't', 'u'];
const deltaOf = (id: string, round: number): number => round * (IDS.indexOf(id) + 1);
/** Hand-computed FedAvg of one round: the example-weighted (here: plain) mean of the participants' deltas. */
const fedAvg = (ids: string[], round: number): number => ids.reduce((a, id) => a + deltaOf(id, round), 0) / ids.length;

describe.skipIf(unavailable !== null)(`combiners on several hosts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('cut one combiner host mid-round: the round commits from the other, its clients move within 10 s, it rejoins and serves the next round; nothing lost or counted twice', async () => {
    const lab = await NetLab.create(['controller', 'ca', 'cb']);
    cleanups.push(() => lab.close());
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const pkgDir = join(tmp.dir, 'pkg');
    await writePackageDir(pkgDir, await makeTestPackage({ tensors: SEED }));
    const track = (p: CliProcess): CliProcess => {
      cleanups.push(() => p.kill9());
      return p;
    };
    // Auth on: the hosts talk over a real network, not loopback.
    const secret = 'multihost-test-secret-0123456789';
    const admin = await issueToken({ secret, role: 'admin', sub: 'test', expiresIn: '1h' });
    const timing = ['--secret', secret, '--heartbeat-ms', '1000', '--link-keepalive-ms', '1500', '--log-level', 'warn'];
    const ctl = lab.host('controller').address;
    const server = track(
      spawnCli(['server', '--host', ctl, '--port', '8080', '--data-dir', join(tmp.dir, 'data'), '--package', pkgDir, '--no-embedded-combiner', ...timing], {}, { prefix: lab.execPrefix('controller') }),
    );
    const url = (await server.waitFor(/listening on (http:\/\/[0-9.:]+)/))[1] as string;
    expect(url).toBe(`http://${ctl}:8080`);
    for (const name of ['ca', 'cb']) {
      const c = track(spawnCli(['combiner', '--controller', url, '--name', name, '--host', lab.host(name).address, '--port', '9000', ...timing], {}, { prefix: lab.execPrefix(name) }));
      await c.waitFor(new RegExp(`combiner ${name} listening on ws://${lab.host(name).address.replace(/\./g, '\\.')}:9000`));
    }
    const combiners = async (): Promise<Array<{ combinerId: string; clients: number }>> => (await api<{ combiners: Array<{ combinerId: string; clients: number }> }>(url, '/api/combiners', { token: admin })).combiners;
    await until(async () => (await combiners()).length === 2, 15_000, 'both combiners registered');

    // Every client holds its task; the test sends each update itself, so it knows exactly who took part in each round.
    const tasks = new Map<string, TrainTask[]>();
    const acks = new Map<string, string[]>();
    const join_ = async (id: string): Promise<TestClient> => {
      tasks.set(id, []);
      acks.set(id, []);
      const c = await TestClient.connect({
        baseUrl: url,
        clientId: id,
        token: await issueToken({ secret, role: 'client', sub: id, expiresIn: '1h' }),
        livenessMs: 2000,
        httpTimeoutMs: 3000,
        onTrain: (task) => {
          if (!tasks.get(id)!.some((t) => t.roundId === task.roundId)) tasks.get(id)!.push(task);
          return null;
        },
      });
      c.on('message', (m: { kind: string; roundId?: string }) => {
        if (m.kind === 'update.ack') acks.get(id)!.push(m.roundId as string);
      });
      cleanups.push(() => c.close());
      return c;
    };
    const clients = new Map<string, TestClient>();
    for (const id of IDS.slice(0, 4)) clients.set(id, await join_(id));
    const on = (combiner: string): string[] => [...clients.values()].filter((c) => c.combinerId === combiner).map((c) => c.clientId);
    const onA = on('ca');
    const onB = on('cb');
    expect(onA).toHaveLength(2);
    expect(onB).toHaveLength(2);

    const taskOf = (id: string, round: number): TrainTask | undefined => tasks.get(id)!.find((t) => t.roundId.includes(`.r${round}.`));
    const tasksFor = (ids: string[], round: number) => until(() => ids.every((id) => taskOf(id, round)), 20_000, `round ${round} tasks for ${ids.join(',')}`);
    const train = async (ids: string[], round: number): Promise<void> => {
      for (const id of ids) {
        const task = taskOf(id, round)!;
        await clients.get(id)!.sendUpdate(task, { delta: new Float32Array(6).fill(deltaOf(id, round)), numExamples: 1, encoding: 'f32' }, LAYOUT);
      }
      await until(() => ids.every((id) => acks.get(id)!.includes(taskOf(id, round)!.roundId)), 20_000, `round ${round} acks`);
    };

    const start = await api<{ session: SessionRecord }>(url, '/api/sessions', { method: 'POST', token: admin, body: { id: 'fleet', rounds: 4, clientsRequired: 2, encoding: 'f32', roundTimeoutMs: 60_000 } });
    expect(start.session.id).toBe('fleet');

    // Round 1: all four clients, over both combiners.
    await tasksFor([...onA, ...onB], 1);
    await train([...onA, ...onB], 1);

    // Round 2: every client holds its task; cb's host goes off the network.
    await tasksFor([...onA, ...onB], 2);
    await lab.cut('cb');
    const cutAt = Date.now();
    await until(() => onB.every((id) => clients.get(id)!.connected && clients.get(id)!.combinerId === 'ca'), 10_000, "cb's clients reassigned to ca");
    const reassignedMs = Date.now() - cutAt;
    await until(async () => (await combiners()).map((c) => c.combinerId).join() === 'ca', 10_000, 'cb dropped by the controller');
    // The round commits from ca's part alone (validity: one partial with >= 1 update).
    await train(onA, 2);

    // Round 3 starts with the four clients, all on ca; cb's link comes back while it runs.
    await tasksFor(IDS.slice(0, 4), 3);
    await lab.restore('cb');
    await until(async () => (await combiners()).length === 2, 20_000, 'cb registered again');
    // Two clients join; least-loaded discovery sends them to cb, which then serves round 4.
    for (const id of ['t', 'u']) clients.set(id, await join_(id));
    expect(on('cb')).toEqual(['t', 'u']);
    await train(IDS.slice(0, 4), 3);

    await tasksFor(IDS, 4);
    await train(IDS, 4);

    const done = await until(async () => {
      const d = await api<{ session: SessionRecord; rounds: RoundRecord[] }>(url, '/api/sessions/fleet', { token: admin });
      return d.session.status === 'completed' ? d : null;
    }, 30_000, 'session completed');
    const committed = done.rounds.filter((r) => r.status === 'committed');
    expect(committed.map((r) => r.round)).toEqual([1, 2, 3, 4]);
    expect(done.rounds.every((r) => r.status === 'committed')).toBe(true);
    expect(committed.map((r) => r.updates)).toEqual([4, 2, 4, 6]);
    expect(committed.map((r) => r.partials.map((p) => p.combinerId).sort())).toEqual([['ca', 'cb'], ['ca'], ['ca'], ['ca', 'cb']]);
    // Each client's update was acknowledged once per round it trained in, and never in a round it did not.
    const trainedIn: Record<string, number[]> = { p: [1, 2, 3, 4], q: [1, 2, 3, 4], r: [1, 2, 3, 4], s: [1, 2, 3, 4], t: [4], u: [4] };
    for (const id of onB) trainedIn[id] = [1, 3, 4];
    for (const id of IDS) expect(acks.get(id)!.map((rid) => Number(/\.r(\d+)\./.exec(rid)![1]))).toEqual(trainedIn[id]);

    // The model: the seed plus the hand-computed FedAvg step of each round, exactly.
    const expected = fedAvg([...onA, ...onB], 1) + fedAvg(onA, 2) + fedAvg(IDS.slice(0, 4), 3) + fedAvg(IDS, 4);
    const { models } = await api<{ models: ModelRecord[] }>(url, '/api/models?sessionId=fleet', { token: admin });
    expect(models.map((m) => m.round)).toEqual([1, 2, 3, 4]);
    expect([...(await fetchModelFlat(url, done.session.currentModelId, admin))]).toEqual(seedPlus(expected));
    console.info(`multihost: cb's clients reassigned ${reassignedMs} ms after the cut`);
  });
});
