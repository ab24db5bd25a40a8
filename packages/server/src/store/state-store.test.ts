import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionConfigSchema } from '../config.js';
import { tempDir } from '../testing/harness.js';
import { pgTestSchema } from '../testing/pg.js';
import { openPgStateStore } from './pg-state-store.js';
import { openSqliteStateStore } from './sqlite-state-store.js';
import type { ModelRecord, RoundRecord, SessionRecord, StateStore } from './types.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const session = (id: string): SessionRecord => ({
  id,
  name: null,
  status: 'running',
  config: SessionConfigSchema.parse({ rounds: 3 }),
  packageSha: 'a'.repeat(64),
  initialModelId: 'seed-1',
  currentModelId: 'seed-1',
  completedRounds: 0,
  strategyState: { m: [1, 2] },
  strategyStateSha: null,
  error: null,
  createdAt: 1,
  updatedAt: 1,
});
const round = (sessionId: string, n: number, status: RoundRecord['status']): RoundRecord => ({
  id: `${sessionId}.r${n}.x`,
  sessionId,
  round: n,
  status,
  startedAt: 10,
  deadline: 20,
  lastUpdateAt: null,
  committedAt: null,
  modelId: null,
  updates: 0,
  weight: 0,
  combiners: ['embedded'],
  partials: [],
  trainMetrics: {},
  validationMetrics: {},
  timings: {},
  reason: null,
});
const model = (id: string, parentId: string | null, r: number): ModelRecord => ({
  id,
  parentId,
  sessionId: 's1',
  round: r,
  sha256: 'b'.repeat(64),
  bytes: 10,
  blobPath: '/x',
  metrics: { loss: 0.5 },
  createdAt: 5,
});

/** One engine under the contract: `location()` makes a fresh, empty place (cleaned up after the test); `open` opens it (again). */
interface Engine {
  name: string;
  location(): Promise<string>;
  open(location: string): Promise<StateStore>;
}

const ENGINES: Engine[] = [
  {
    name: 'SQLite',
    async location() {
      const tmp = await tempDir();
      cleanups.push(tmp.cleanup);
      return join(tmp.dir, 'state.db');
    },
    open: async (file) => openSqliteStateStore(file),
  },
  {
    name: 'PostgreSQL',
    async location() {
      const s = pgTestSchema('contract');
      cleanups.push(s.drop);
      return s.url;
    },
    open: (url) => openPgStateStore(url),
  },
];

async function fresh(engine: Engine): Promise<StateStore> {
  const store = await engine.open(await engine.location());
  cleanups.push(() => store.close());
  return store;
}

describe.each(ENGINES)('StateStore contract: $name', (engine) => {
  it('persists sessions, rounds, the model trail and metrics across reopen', async () => {
    const file = await engine.location();
    let store = await engine.open(file);
    await store.createSession(session('s1'));
    await store.putRound(round('s1', 1, 'training'));
    await store.commitRound({
      model: model('s1.m1', 'seed-1', 1),
      round: { ...round('s1', 1, 'committed'), modelId: 's1.m1', updates: 3, weight: 8 },
      session: { id: 's1', currentModelId: 's1.m1', completedRounds: 1, strategyState: { m: [3] }, strategyStateSha: null },
      metrics: [{ sessionId: 's1', round: 1, scope: 'train', name: 'loss', value: 0.5 }],
    });
    await store.putRound(round('s1', 2, 'training'));
    await store.close();

    store = await engine.open(file);
    cleanups.push(() => store.close());
    expect(await store.interruptOpenRounds()).toBe(1);
    const s = await store.getSession('s1');
    expect(s).toMatchObject({ status: 'running', currentModelId: 's1.m1', completedRounds: 1, strategyState: { m: [3] } });
    expect(s?.config.rounds).toBe(3);
    expect((await store.listRounds('s1')).map((r) => [r.round, r.status])).toEqual([
      [1, 'committed'],
      [2, 'interrupted'],
    ]);
    expect(await store.listModels({ sessionId: 's1' })).toEqual([model('s1.m1', 'seed-1', 1)]);
    expect(await store.listMetrics('s1')).toEqual([{ sessionId: 's1', round: 1, scope: 'train', name: 'loss', value: 0.5 }]);
  });

  it('commits a round atomically: a failing commit leaves no model row and no progress', async () => {
    const store = await fresh(engine);
    await store.createSession(session('s1'));
    // The session update fails (no such session): the model insert in the same transaction must roll back.
    await expect(
      store.commitRound({
        model: model('ghost', 'seed-1', 1),
        round: round('s1', 1, 'committed'),
        session: { id: 'missing', currentModelId: 'ghost', completedRounds: 1, strategyState: null, strategyStateSha: null },
        metrics: [],
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.getModel('ghost')).toBeNull();
    expect(await store.getRound('s1.r1.x')).toBeNull();
    expect((await store.getSession('s1'))?.completedRounds).toBe(0);
  });

  it('keeps one active package and upserts clients seen', async () => {
    const store = await fresh(engine);
    const pkg = (sha: string) => ({ sha256: sha, name: 'p', version: '1', manifest: { name: 'p' }, seedModelId: 'seed', bytes: 3, createdAt: 1, active: true });
    await store.putPackage(pkg('1'.repeat(64)), true);
    await store.putPackage(pkg('2'.repeat(64)), true);
    expect((await store.getActivePackage())?.sha256).toBe('2'.repeat(64));
    expect((await store.getPackage('1'.repeat(64)))?.active).toBe(false);
    await store.upsertClients([{ clientId: 'a', combinerId: 'c1', firstSeen: 1, lastSeen: 5, capabilities: { backend: 'wasm' } }]);
    await store.upsertClients([{ clientId: 'a', combinerId: 'c2', firstSeen: 9, lastSeen: 3, capabilities: {} }]);
    expect(await store.listClients()).toEqual([{ clientId: 'a', combinerId: 'c2', firstSeen: 1, lastSeen: 5, capabilities: {}, contributedAt: null }]);
    // A contribution sticks (a later status without it does not erase it); pages follow id order.
    await store.upsertClients([{ clientId: 'b', combinerId: 'c1', firstSeen: 1, lastSeen: 2, capabilities: {}, contributedAt: 7 }]);
    await store.upsertClients([{ clientId: 'b', combinerId: 'c1', firstSeen: 1, lastSeen: 4, capabilities: {} }, { clientId: 'c', combinerId: 'c1', firstSeen: 1, lastSeen: 9, capabilities: {} }]);
    expect((await store.listClients({ after: 'a', limit: 1 })).map((c) => [c.clientId, c.contributedAt])).toEqual([['b', 7]]);
    // Pruning removes only never-contributing clients last seen before the cut.
    expect(await store.pruneClients(6)).toBe(1);
    expect((await store.listClients()).map((c) => c.clientId)).toEqual(['b', 'c']);
  });
  it('updates sessions in place, upserts rounds, ignores a duplicate seed model, and orders lists the same way', async () => {
    const store = await fresh(engine);
    await store.createSession({ ...session('s2'), createdAt: 2 });
    await store.createSession(session('s1'));
    await expect(store.createSession(session('s1'))).rejects.toMatchObject({ code: 'STORAGE' });
    await store.updateSession('s1', { status: 'paused', error: 'x', strategyState: { k: 'v' } });
    expect(await store.getSession('s1')).toMatchObject({ status: 'paused', error: 'x', strategyState: { k: 'v' }, createdAt: 1 });
    await expect(store.updateSession('nope', { status: 'paused' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await store.listSessions()).map((x) => x.id)).toEqual(['s1', 's2']);
    expect(await store.getSession('nope')).toBeNull();

    await store.putRound(round('s1', 1, 'training'));
    await store.putRound({ ...round('s1', 1, 'failed'), reason: 'too few', weight: 2.5, timings: { commit: 3 }, lastUpdateAt: 1_700_000_000_123 });
    expect(await store.getRound('s1.r1.x')).toMatchObject({ status: 'failed', reason: 'too few', weight: 2.5, timings: { commit: 3 }, lastUpdateAt: 1_700_000_000_123 });
    expect(await store.interruptOpenRounds()).toBe(0);

    await store.putModel(model('seed-1', null, 0));
    await store.putModel({ ...model('seed-1', null, 0), bytes: 99 });
    expect((await store.getModel('seed-1'))?.bytes).toBe(10);
    expect(await store.getModel('nope')).toBeNull();
    await store.putModel({ ...model('b', null, 0), sessionId: null, createdAt: 1 });
    expect((await store.listModels()).map((m) => m.id)).toEqual(['b', 'seed-1']);

    await store.upsertClients([]);
    await store.upsertClients(['b', 'B', 'a', '_'].map((id) => ({ clientId: id, combinerId: null, firstSeen: 1, lastSeen: 1, capabilities: {} })));
    // Byte order on both engines (PostgreSQL's default collation would put 'a' before 'B').
    expect((await store.listClients()).map((c) => c.clientId)).toEqual(['B', '_', 'a', 'b']);
    expect(await store.getPackage('0'.repeat(64))).toBeNull();
    expect(await store.getActivePackage()).toBeNull();
  });

  it('appends audit entries and pages them newest first, by action and time, across reopen', async () => {
    const file = await engine.location();
    let store = await engine.open(file);
    const a = await store.appendAudit({ at: 100, actor: 'ops', role: 'operator', action: 'session.start', target: 's1', detail: { rounds: 3 } });
    const b = await store.appendAudit({ at: 200, actor: 'local', role: null, action: 'package.upload', target: 'c'.repeat(64), detail: {} });
    const c = await store.appendAudit({ at: 300, actor: 'ops', role: 'operator', action: 'session.stop', target: 's1', detail: {} });
    expect(a.id).toBeLessThan(b.id);
    expect(b.id).toBeLessThan(c.id);
    await store.close();
    store = await engine.open(file);
    cleanups.push(() => store.close());
    const d = await store.appendAudit({ at: 400, actor: 'root', role: 'admin', action: 'session.start', target: 's2', detail: { nested: { k: [1, 'x'] } } });
    expect(d.id).toBeGreaterThan(c.id);
    expect((await store.listAudit({ limit: 10 })).map((e) => e.id)).toEqual([d.id, c.id, b.id, a.id]);
    expect(await store.listAudit({ limit: 1 })).toEqual([d]);
    // The next page starts below the last id seen.
    expect((await store.listAudit({ limit: 2, before: c.id })).map((e) => e.action)).toEqual(['package.upload', 'session.start']);
    expect(await store.listAudit({ limit: 10, action: 'session.start' })).toEqual([d, a]);
    expect((await store.listAudit({ limit: 10, since: 300 })).map((e) => e.at)).toEqual([400, 300]);
    expect(await store.listAudit({ limit: 10, action: 'session.start', since: 150, before: d.id })).toEqual([]);
    expect((await store.listAudit({ limit: 10 }))[2]).toEqual({ id: b.id, at: 200, actor: 'local', role: null, action: 'package.upload', target: 'c'.repeat(64), detail: {} });
  });
});
