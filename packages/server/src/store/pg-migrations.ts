/**
 * The PostgreSQL schema as an ordered list of migrations, recorded in `fedweb_schema_migrations` (one row per
 * applied step). Opening a store applies the steps it lacks in one transaction under a transaction-scoped
 * advisory lock, so two controllers starting together on an empty schema do not race, and a crash mid-upgrade
 * leaves the schema as it was (PostgreSQL DDL is transactional). Add a step at the end; never edit a released one.
 */
import type { PoolClient } from 'pg';
import { fedError } from '@fedweb/codec';

/** One schema step: the SQL that takes a schema from `version - 1` to `version`. */
export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Every schema step, oldest first (`version` = position + 1). Same tables and columns as SQLite (JSON as text,
 * epoch ms as BIGINT), so both engines share the row mapping (rows.ts).
 * @example
 * ```ts
 * PG_MIGRATIONS.at(-1)?.version // the schema version this build writes
 * ```
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'sessions, rounds (with timings), models, packages, clients, metrics',
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
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE rounds (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  round INTEGER NOT NULL,
  status TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  deadline BIGINT,
  last_update_at BIGINT,
  committed_at BIGINT,
  model_id TEXT,
  updates INTEGER NOT NULL,
  weight DOUBLE PRECISION NOT NULL,
  combiners TEXT NOT NULL,
  partials TEXT NOT NULL,
  train_metrics TEXT NOT NULL,
  validation_metrics TEXT NOT NULL,
  reason TEXT,
  timings TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX rounds_by_session ON rounds(session_id, round);
CREATE TABLE models (
  id TEXT PRIMARY KEY,
  parent_id TEXT,
  session_id TEXT,
  round INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  blob_path TEXT NOT NULL,
  metrics TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX models_by_session ON models(session_id, round);
CREATE TABLE packages (
  sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  manifest TEXT NOT NULL,
  seed_model_id TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  active INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  combiner_id TEXT,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  capabilities TEXT NOT NULL
);
CREATE TABLE metrics (
  session_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (session_id, round, scope, name)
);`,
  },
  {
    version: 2,
    description: 'clients.contributed_at: clients that never completed a round are garbage-collected',
    sql: `ALTER TABLE clients ADD COLUMN contributed_at BIGINT;
CREATE INDEX clients_gc ON clients (last_seen) WHERE contributed_at IS NULL;`,
  },
  {
    version: 3,
    description: 'audit: operator actions (who, what, when)',
    sql: `CREATE TABLE audit (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
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
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Advisory lock class ids (the first key of the two-int form; the second is a hash of the schema name). */
export const PG_LOCK_CLASS = { migrate: 0x66656401, leader: 0x66656402 } as const;

/**
 * Brings the connection's schema (its `search_path`) to {@link PG_SCHEMA_VERSION}. Returns the version it had.
 * @throws FedError STORAGE when the schema was written by a newer fedweb.
 * @example
 * ```ts
 * const from = await migratePg(await pool.connect());
 * ```
 */
export async function migratePg(client: PoolClient, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [PG_LOCK_CLASS.migrate]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS fedweb_schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM fedweb_schema_migrations');
    const from = rows[0]?.v ?? 0;
    if (from > migrations.length) {
      throw fedError('STORAGE', `the PostgreSQL schema has version ${from}; this fedweb knows versions up to ${migrations.length} (upgrade fedweb, or use another schema)`);
    }
    for (const step of migrations.slice(from)) {
      await client.query(step.sql);
      await client.query('INSERT INTO fedweb_schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [step.version, step.description, Date.now()]);
    }
    await client.query('COMMIT');
    return from;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
