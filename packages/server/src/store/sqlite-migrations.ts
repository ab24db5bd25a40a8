/**
 * The SQLite schema as an ordered list of migrations, versioned by `PRAGMA user_version` (SQLite's own
 * per-database integer, https://www.sqlite.org/pragma.html#pragma_user_version). Opening a database applies the
 * steps it lacks, each in its own transaction with its version bump, so a crash mid-upgrade leaves a database
 * at a version it fully has. Add a step at the end; never edit a released one.
 */
import type Database from 'better-sqlite3';
import { fedError } from '@fedweb/codec';

/** One schema step: the SQL that takes a database from `version - 1` to `version`. */
export interface SqliteMigration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Every schema step, oldest first (`version` = position + 1).
 * @example
 * ```ts
 * SQLITE_MIGRATIONS.at(-1)?.version // the schema version this build writes
 * ```
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: 'sessions, rounds, models, packages, clients, metrics',
    sql: `
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  name TEXT,
  status TEXT NOT NULL,
  config TEXT NOT NULL,
  package_sha TEXT NOT NULL,
  initial_model_id TEXT NOT NULL,
  current_model_id TEXT NOT NULL,
  completed_rounds INTEGER NOT NULL,
  strategy_state TEXT,
  strategy_state_sha TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE rounds (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  round INTEGER NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  deadline INTEGER,
  last_update_at INTEGER,
  committed_at INTEGER,
  model_id TEXT,
  updates INTEGER NOT NULL,
  weight REAL NOT NULL,
  combiners TEXT NOT NULL,
  partials TEXT NOT NULL,
  train_metrics TEXT NOT NULL,
  validation_metrics TEXT NOT NULL,
  reason TEXT
);
CREATE INDEX rounds_by_session ON rounds(session_id, round);
CREATE TABLE models (
  id TEXT PRIMARY KEY,
  parent_id TEXT,
  session_id TEXT,
  round INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  blob_path TEXT NOT NULL,
  metrics TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX models_by_session ON models(session_id, round);
CREATE TABLE packages (
  sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  manifest TEXT NOT NULL,
  seed_model_id TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  active INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  combiner_id TEXT,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  capabilities TEXT NOT NULL
);
CREATE TABLE metrics (
  session_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (session_id, round, scope, name)
);`,
  },
  {
    version: 2,
    description: 'rounds.timings: per-phase round timings',
    sql: `ALTER TABLE rounds ADD COLUMN timings TEXT NOT NULL DEFAULT '{}';`,
  },
  {
    version: 3,
    description: 'clients.contributed_at: clients that never completed a round are garbage-collected',
    sql: `ALTER TABLE clients ADD COLUMN contributed_at INTEGER;
CREATE INDEX clients_gc ON clients (last_seen) WHERE contributed_at IS NULL;`,
  },
  {
    version: 4,
    description: 'audit: operator actions (who, what, when)',
    sql: `CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT NOT NULL
);
CREATE INDEX audit_by_action ON audit (action, id);`,
  },
];

/** The schema version this build writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/**
 * The version of a database written before schemas were versioned (`user_version` 0 with tables in it): the
 * first releases created the tables directly, with or without `rounds.timings`.
 */
function legacyVersion(db: Database.Database): number {
  const hasSessions = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").get();
  if (!hasSessions) return 0;
  const has = (table: string, column: string): boolean => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some((c) => c.name === column);
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'").get()) return 4;
  if (has('clients', 'contributed_at')) return 3;
  return has('rounds', 'timings') ? 2 : 1;
}

/**
 * Brings `db` to {@link SQLITE_SCHEMA_VERSION}: each missing step in its own transaction with its
 * `user_version` bump. Returns the version the database had before.
 * @throws FedError STORAGE when the database was written by a newer fedweb (its version is unknown here).
 * @example
 * ```ts
 * const from = migrateSqlite(new Database('./.fedweb/state.db'), './.fedweb/state.db');
 * ```
 */
export function migrateSqlite(db: Database.Database, file: string, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): number {
  let version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) version = legacyVersion(db);
  const from = version;
  if (version > migrations.length) {
    throw fedError('STORAGE', `state database ${file} has schema version ${version}; this fedweb knows versions up to ${migrations.length} (upgrade fedweb, or use another --data-dir)`);
  }
  for (const step of migrations.slice(version)) {
    db.transaction(() => {
      db.exec(step.sql);
      // PRAGMA takes no bound parameters; the version is an integer from the list above.
      db.pragma(`user_version = ${step.version}`);
    })();
    version = step.version;
  }
  // A legacy database that needed no step still gets its version written.
  if ((db.pragma('user_version', { simple: true }) as number) !== version) db.pragma(`user_version = ${version}`);
  return from;
}
