import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionConfigSchema } from '../config.js';
import { tempDir, until } from '../testing/harness.js';
import { pgTestSchema, TEST_PG_URL } from '../testing/pg.js';
import { spawnScript, type CliProcess } from '../testing/spawn.js';
import { FsBlobStore } from './fs-blob-store.js';
import { openStores } from './open.js';
import type { StateStore } from './types.js';

const CHILD = fileURLToPath(new URL('../testing/commit-child.ts', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const APP = `fedweb_commit_child_${process.pid}`;

/**
 * One engine: a fresh state location, how many metric rows the commit writes, and `midCommit`: arranges (before
 * the commit starts) and then waits for proof that the child is part-way through its commit transaction, with
 * rows already written in it.
 */
interface Engine {
  name: string;
  metrics: number;
  /** True when `midCommit` holds the child inside its transaction (so the kill always lands there). */
  deterministic: boolean;
  location(dir: string): Promise<string>;
  midCommit(state: string, dir: string): Promise<{ reached: () => Promise<unknown>; release: () => Promise<unknown> }>;
}

const ENGINES: Engine[] = [
  {
    name: 'SQLite',
    // Enough rows that the transaction's pages spill into the WAL file long before it commits (the page cache is
    // ~2 MB). better-sqlite3 runs the transaction in one synchronous call, so nothing can hold it part-way: the
    // kill lands in it unless the commit wins the race (then it is all there, which is atomic too).
    metrics: 300_000,
    deterministic: false,
    location: async (dir) => join(dir, 'state.db'),
    async midCommit(state) {
      const size = async (): Promise<number> => (await stat(`${state}-wal`).catch(() => ({ size: 0 }))).size;
      const before = await size();
      const reached = async (): Promise<void> => {
        const end = Date.now() + 60_000;
        while ((await size()) <= before + 1024 * 1024) {
          if (Date.now() > end) throw new Error('no uncommitted pages in the WAL within 60 s');
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      return { reached, release: async () => undefined };
    },
  },
  {
    name: 'PostgreSQL',
    metrics: 50,
    deterministic: true,
    async location() {
      const s = pgTestSchema('kill');
      cleanups.push(s.drop);
      return `${s.url}&application_name=${APP}`;
    },
    async midCommit(state) {
      // Hold the last metric row's key in an open transaction: the child's commit writes the model, round and
      // session rows and the other metrics, then waits on this lock, inside its transaction.
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      const schema = new URL(state).searchParams.get('schema') as string;
      await admin.query('BEGIN');
      await admin.query(`INSERT INTO "${schema}".metrics (session_id, round, scope, name, value) VALUES ('s1', 1, 'server', 'm49', 0)`);
      const release = async (): Promise<void> => {
        await admin.query('ROLLBACK').catch(() => undefined);
        await admin.end().catch(() => undefined);
      };
      cleanups.push(release);
      const reached = (): Promise<unknown> =>
        until(async () => {
          const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [APP]);
          return rows.length > 0;
        }, 60_000, 'the child blocked inside its commit transaction');
      return { reached, release };
    },
  },
];

async function open(state: string, dir: string): Promise<StateStore> {
  const { state: store } = await openStores({ dataDir: dir, state, blobs: join(dir, 'blobs') });
  cleanups.push(() => store.close());
  return store;
}

/** What the store says about round 1: nothing of it, or all of it (anything else is a half-written commit). */
async function roundOneState(state: string, dir: string): Promise<{ written: 'none' | 'all'; metrics: number }> {
  const store = await open(state, dir);
  const [s, m, r, metrics] = await Promise.all([store.getSession('s1'), store.getModel('s1.m1'), store.getRound('s1.r1'), store.listMetrics('s1')]);
  await store.close();
  if (s?.completedRounds === 0 && s.currentModelId === 'seed' && !m && !r && metrics.length === 0) return { written: 'none', metrics: 0 };
  if (s?.completedRounds === 1 && s.currentModelId === 's1.m1' && m && r?.status === 'committed') return { written: 'all', metrics: metrics.length };
  throw new Error(`half-written commit: session ${JSON.stringify(s)}, model ${!!m}, round ${r?.status}, ${metrics.length} metric rows`);
}

function child(state: string, dir: string, metrics: number): CliProcess {
  const p = spawnScript(CHILD, [state, join(dir, 'blobs'), String(metrics)]);
  cleanups.push(() => p.kill9());
  return p;
}

describe.each(ENGINES)('a commit killed with kill -9 is all or nothing: $name', (engine) => {
  it('between the blob write and the state write, and again part-way through the state write', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const state = await engine.location(tmp.dir);
    const seed = await open(state, tmp.dir);
    await seed.createSession({
      id: 's1', name: null, status: 'running', config: SessionConfigSchema.parse({}), packageSha: 'a'.repeat(64), initialModelId: 'seed',
      currentModelId: 'seed', completedRounds: 0, strategyState: null, strategyStateSha: null, error: null, createdAt: 1, updatedAt: 1,
    });
    await seed.putModel({ id: 'seed', parentId: null, sessionId: null, round: 0, sha256: 'b'.repeat(64), bytes: 1, blobPath: '/seed', metrics: {}, createdAt: 1 });
    await seed.close();

    // 1. Killed after the model blob is durable, before the state write: the blob is an orphan, the state unchanged.
    const first = child(state, tmp.dir, engine.metrics);
    const sha = (await first.waitFor(/blob-written ([0-9a-f]{64})/, 60_000))[1] as string;
    await first.kill9();
    expect(await new FsBlobStore(join(tmp.dir, 'blobs')).has(sha)).toBe(true);
    expect(await roundOneState(state, tmp.dir)).toEqual({ written: 'none', metrics: 0 });

    // 2. Killed part-way through the commit transaction (rows of it already written): nothing of it remains.
    const second = child(state, tmp.dir, engine.metrics);
    await second.waitFor(/blob-written/, 60_000);
    const mid = await engine.midCommit(state, tmp.dir);
    second.child.stdin?.write('go\n');
    await mid.reached();
    await second.kill9();
    await mid.release();
    // roundOneState throws on a half-written commit; a commit that won the race is all there.
    const cut = await roundOneState(state, tmp.dir);
    if (engine.deterministic) expect(cut).toEqual({ written: 'none', metrics: 0 });
    else expect([{ written: 'none', metrics: 0 }, { written: 'all', metrics: engine.metrics }]).toContainEqual(cut);
    console.log(`${engine.name}: killed inside the commit transaction -> ${cut.written} of round 1 in the store`);
    if (cut.written === 'all') return;

    // 3. The same commit, not killed, writes everything.
    const third = child(state, tmp.dir, engine.metrics);
    await third.waitFor(/blob-written/, 60_000);
    third.child.stdin?.write('go\n');
    await third.waitFor(/^committed$/m, 60_000);
    expect(await roundOneState(state, tmp.dir)).toEqual({ written: 'all', metrics: engine.metrics });
    // Three child processes (a tsx start-up each) and long transactions: more than the default 60 s in a full run.
  }, 150_000);
});
