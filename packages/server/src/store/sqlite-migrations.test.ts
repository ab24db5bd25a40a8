import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { tempDir } from '../testing/harness.js';
import { migrateSqlite, SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './sqlite-migrations.js';
import { openSqliteStateStore } from './sqlite-state-store.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dbFile(): Promise<string> {
  const tmp = await tempDir('fedweb-migrate-');
  cleanups.push(tmp.cleanup);
  return join(tmp.dir, 'state.db');
}

const userVersion = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

const roundColumns = (db: Database.Database): string[] => (db.prepare('PRAGMA table_info(rounds)').all() as Array<{ name: string }>).map((c) => c.name);

describe('SQLite schema migrations', () => {
  it('numbers the steps 1..n in order', () => {
    expect(SQLITE_MIGRATIONS.map((m) => m.version)).toEqual(SQLITE_MIGRATIONS.map((_, i) => i + 1));
    expect(SQLITE_SCHEMA_VERSION).toBe(SQLITE_MIGRATIONS.length);
  });

  it('creates a fresh database at the current version, and reopening changes nothing', async () => {
    const file = await dbFile();
    const store = openSqliteStateStore(file);
    await store.close();
    expect(userVersion(file)).toBe(SQLITE_SCHEMA_VERSION);
    const db = new Database(file);
    cleanups.push(() => void db.close());
    expect(migrateSqlite(db, file)).toBe(SQLITE_SCHEMA_VERSION);
    expect(roundColumns(db)).toContain('timings');
  });

  it('upgrades a first-release database (no user_version, no rounds.timings) and keeps its rows', async () => {
    const file = await dbFile();
    const old = new Database(file);
    // What the first release ran: its tables, created directly, user_version left at 0.
    old.exec(SQLITE_MIGRATIONS[0]!.sql);
    old.prepare(
      `INSERT INTO sessions (id, name, status, config, package_sha, initial_model_id, current_model_id, completed_rounds, strategy_state, strategy_state_sha, error, created_at, updated_at)
       VALUES ('s1', NULL, 'running', '{"rounds":3}', 'aa', 'seed', 's1.m1', 1, NULL, NULL, NULL, 1, 2)`,
    ).run();
    old.prepare(
      `INSERT INTO rounds (id, session_id, round, status, started_at, deadline, last_update_at, committed_at, model_id, updates, weight, combiners, partials, train_metrics, validation_metrics, reason)
       VALUES ('s1.r1.x', 's1', 1, 'committed', 10, 20, 15, 16, 's1.m1', 2, 8, '["embedded"]', '[]', '{"loss":0.5}', '{}', NULL)`,
    ).run();
    expect(roundColumns(old)).not.toContain('timings');
    old.close();

    const store = openSqliteStateStore(file);
    cleanups.push(() => store.close());
    const rounds = await store.listRounds('s1');
    expect(rounds).toHaveLength(1);
    expect(rounds[0]).toMatchObject({ id: 's1.r1.x', status: 'committed', updates: 2, weight: 8, trainMetrics: { loss: 0.5 }, timings: {} });
    expect(await store.getSession('s1')).toMatchObject({ completedRounds: 1, currentModelId: 's1.m1' });
    // The new column is written and read back.
    await store.putRound({ ...rounds[0]!, id: 's1.r2.y', round: 2, timings: { fold: 12 } });
    expect((await store.listRounds('s1'))[1]?.timings).toEqual({ fold: 12 });
    await store.close();
    cleanups.pop();
    expect(userVersion(file)).toBe(SQLITE_SCHEMA_VERSION);
  });

  it('stamps an unversioned database that already has the latest tables without altering them', async () => {
    const file = await dbFile();
    const db = new Database(file);
    cleanups.push(() => void db.close());
    for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
    expect(migrateSqlite(db, file)).toBe(SQLITE_SCHEMA_VERSION);
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
  });

  it('refuses a database written by a newer fedweb with a STORAGE error naming both versions', async () => {
    const file = await dbFile();
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 5}`);
    db.close();
    let err: unknown;
    try {
      openSqliteStateStore(file);
    } catch (e) {
      err = e;
    }
    expect(isFedError(err, 'STORAGE')).toBe(true);
    expect((err as Error).message).toContain(`schema version ${SQLITE_SCHEMA_VERSION + 5}`);
  });

  it('applies each step in its own transaction: a failing step leaves the database at the last full version', async () => {
    const file = await dbFile();
    const db = new Database(file);
    cleanups.push(() => void db.close());
    const steps = [
      { version: 1, description: 'a', sql: 'CREATE TABLE a (x INTEGER);' },
      { version: 2, description: 'b, then a failure', sql: 'CREATE TABLE b (y INTEGER); INSERT INTO missing VALUES (1);' },
    ];
    expect(() => migrateSqlite(db, file, steps)).toThrow(/missing/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([{ name: 'a' }]);
  });
});
