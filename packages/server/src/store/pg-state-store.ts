/**
 * PostgreSQL {@link StateStore} (`pg` with a pool): every multi-row write is one transaction on one pooled
 * connection (`commitRound` included), so a controller killed mid-commit leaves the previous state (the server
 * rolls back a transaction whose connection died). Transient failures are retried (pg-connect.ts); the writes
 * that are retried are idempotent (`commitRound` upserts), so a retry after a lost COMMIT reply is harmless.
 */
import type pg from 'pg';
import { fedError } from '@fedweb/codec';
import { openPgPool, parsePgTarget, PG_DEFAULT_RETRIES, withPgRetry, type PgConnectOptions } from './pg-connect.js';
import { migratePg } from './pg-migrations.js';
import { JSON_FIELDS, json, SESSION_COLUMNS, toAudit, toClient, toModel, toPackage, toRound, toSession, type Row } from './rows.js';
import type { AuditEntry, AuditQuery, AuditRecord, ClientPage, ClientSeenRecord, MetricRow, ModelRecord, PackageRecord, RoundCommit, RoundRecord, SessionRecord, StateStore } from './types.js';

const SESSION_INSERT = `INSERT INTO sessions (id, name, status, config, package_sha, initial_model_id, current_model_id, completed_rounds, strategy_state, strategy_state_sha, error, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;
const ROUND_UPSERT = `INSERT INTO rounds (id, session_id, round, status, started_at, deadline, last_update_at, committed_at, model_id, updates, weight, combiners, partials, train_metrics, validation_metrics, timings, reason)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, deadline = excluded.deadline, last_update_at = excluded.last_update_at,
    committed_at = excluded.committed_at, model_id = excluded.model_id, updates = excluded.updates, weight = excluded.weight,
    combiners = excluded.combiners, partials = excluded.partials, train_metrics = excluded.train_metrics,
    validation_metrics = excluded.validation_metrics, timings = excluded.timings, reason = excluded.reason`;
const MODEL_INSERT = `INSERT INTO models (id, parent_id, session_id, round, sha256, bytes, blob_path, metrics, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
const METRIC_UPSERT = `INSERT INTO metrics (session_id, round, scope, name, value) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (session_id, round, scope, name) DO UPDATE SET value = excluded.value`;

const sessionValues = (s: SessionRecord): unknown[] => [
  s.id, s.name, s.status, json(s.config), s.packageSha, s.initialModelId, s.currentModelId, s.completedRounds,
  json(s.strategyState), s.strategyStateSha, s.error, s.createdAt, s.updatedAt,
];
const roundValues = (r: RoundRecord): unknown[] => [
  r.id, r.sessionId, r.round, r.status, r.startedAt, r.deadline, r.lastUpdateAt, r.committedAt, r.modelId, r.updates, r.weight,
  json(r.combiners), json(r.partials), json(r.trainMetrics), json(r.validationMetrics), json(r.timings), r.reason,
];
const modelValues = (m: ModelRecord): unknown[] => [m.id, m.parentId, m.sessionId, m.round, m.sha256, m.bytes, m.blobPath, json(m.metrics), m.createdAt];

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Opens the PostgreSQL state store at `url` (`postgres://user:pass@host:5432/db?schema=name`): creates the
 * database (when permitted) and the schema when missing, and applies the migrations it lacks.
 * @throws FedError STORAGE when the server cannot be reached (after bounded retries) or the schema is newer.
 * @example
 * ```ts
 * const store = await openPgStateStore('postgres://root@127.0.0.1:5432/fedweb');
 * ```
 */
export async function openPgStateStore(url: string, opts: PgConnectOptions = {}): Promise<PgStateStore> {
  const target = parsePgTarget(url);
  const pool = await openPgPool(target, opts);
  const retries = opts.retries ?? PG_DEFAULT_RETRIES;
  try {
    await withPgRetry('migrate', retries, async () => {
      const client = await pool.connect();
      try {
        await migratePg(client);
      } finally {
        client.release();
      }
    });
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return new PgStateStore(pool, retries);
}

/**
 * The PostgreSQL state store (see {@link openPgStateStore}).
 * @example
 * ```ts
 * const session = await (await openPgStateStore(url)).getSession('s1');
 * ```
 */
export class PgStateStore implements StateStore {
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly retries: number,
  ) {}

  private async rows(what: string, sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await withPgRetry(what, this.retries, () => this.pool.query(sql, params))).rows as Row[];
  }

  /** `fn` in one transaction on one connection (retried as a whole on a transient failure). */
  private tx<T>(what: string, fn: (c: Queryable) => Promise<T>): Promise<T> {
    return withPgRetry(what, this.retries, async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw e;
      } finally {
        client.release(broken);
      }
    });
  }

  private async updateSessionIn(c: Queryable, id: string, patch: Partial<Omit<SessionRecord, 'id' | 'createdAt'>>): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [key, value] of Object.entries({ ...patch, updatedAt: patch.updatedAt ?? Date.now() })) {
      const column = SESSION_COLUMNS[key];
      if (!column || value === undefined) continue;
      params.push(JSON_FIELDS.has(key) ? json(value) : value);
      sets.push(`${column} = $${params.length}`);
    }
    const res = await c.query(`UPDATE sessions SET ${sets.join(', ')} WHERE id = $1`, params);
    if (res.rowCount === 0) throw fedError('NOT_FOUND', `no session ${id}`);
  }

  async createSession(rec: SessionRecord): Promise<void> {
    await this.rows('create session', SESSION_INSERT, sessionValues(rec));
  }

  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id' | 'createdAt'>>): Promise<void> {
    return withPgRetry('update session', this.retries, () => this.updateSessionIn(this.pool, id, patch));
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const [r] = await this.rows('get session', 'SELECT * FROM sessions WHERE id = $1', [id]);
    return r ? toSession(r) : null;
  }

  async listSessions(): Promise<SessionRecord[]> {
    return (await this.rows('list sessions', 'SELECT * FROM sessions ORDER BY created_at, id COLLATE "C"')).map(toSession);
  }

  async putRound(rec: RoundRecord): Promise<void> {
    await this.rows('put round', ROUND_UPSERT, roundValues(rec));
  }

  async getRound(id: string): Promise<RoundRecord | null> {
    const [r] = await this.rows('get round', 'SELECT * FROM rounds WHERE id = $1', [id]);
    return r ? toRound(r) : null;
  }

  async listRounds(sessionId: string): Promise<RoundRecord[]> {
    return (await this.rows('list rounds', 'SELECT * FROM rounds WHERE session_id = $1 ORDER BY round, started_at', [sessionId])).map(toRound);
  }

  async interruptOpenRounds(): Promise<number> {
    const res = await withPgRetry('interrupt rounds', this.retries, () =>
      this.pool.query(`UPDATE rounds SET status = 'interrupted', reason = 'controller restarted' WHERE status NOT IN ('committed', 'failed', 'interrupted', 'aborted')`),
    );
    return res.rowCount ?? 0;
  }

  commitRound(commit: RoundCommit): Promise<void> {
    return this.tx('commit round', async (c) => {
      // ON CONFLICT DO NOTHING: a retry after a COMMIT whose reply was lost finds the row already there.
      if (commit.model) await c.query(`${MODEL_INSERT} ON CONFLICT (id) DO NOTHING`, modelValues(commit.model));
      await c.query(ROUND_UPSERT, roundValues(commit.round));
      const { id, ...patch } = commit.session;
      await this.updateSessionIn(c, id, patch);
      for (const m of commit.metrics) await c.query(METRIC_UPSERT, [m.sessionId, m.round, m.scope, m.name, m.value]);
    });
  }

  async putModel(rec: ModelRecord): Promise<void> {
    await this.rows('put model', `${MODEL_INSERT} ON CONFLICT (id) DO NOTHING`, modelValues(rec));
  }

  async getModel(id: string): Promise<ModelRecord | null> {
    const [r] = await this.rows('get model', 'SELECT * FROM models WHERE id = $1', [id]);
    return r ? toModel(r) : null;
  }

  async listModels(filter?: { sessionId?: string }): Promise<ModelRecord[]> {
    const rows = filter?.sessionId
      ? await this.rows('list models', 'SELECT * FROM models WHERE session_id = $1 ORDER BY round, created_at', [filter.sessionId])
      : await this.rows('list models', 'SELECT * FROM models ORDER BY created_at, round, id COLLATE "C"');
    return rows.map(toModel);
  }

  putPackage(rec: PackageRecord, activate: boolean): Promise<void> {
    return this.tx('put package', async (c) => {
      await c.query(
        `INSERT INTO packages (sha256, name, version, manifest, seed_model_id, bytes, created_at, active) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)
         ON CONFLICT (sha256) DO UPDATE SET name = excluded.name, version = excluded.version, manifest = excluded.manifest, seed_model_id = excluded.seed_model_id`,
        [rec.sha256, rec.name, rec.version, json(rec.manifest), rec.seedModelId, rec.bytes, rec.createdAt],
      );
      if (activate) {
        await c.query('UPDATE packages SET active = 0 WHERE active = 1');
        await c.query('UPDATE packages SET active = 1 WHERE sha256 = $1', [rec.sha256]);
      }
    });
  }

  async getPackage(sha256: string): Promise<PackageRecord | null> {
    const [r] = await this.rows('get package', 'SELECT * FROM packages WHERE sha256 = $1', [sha256]);
    return r ? toPackage(r) : null;
  }

  async getActivePackage(): Promise<PackageRecord | null> {
    const [r] = await this.rows('get active package', 'SELECT * FROM packages WHERE active = 1 LIMIT 1');
    return r ? toPackage(r) : null;
  }

  async upsertClients(recs: ClientSeenRecord[]): Promise<void> {
    if (recs.length === 0) return;
    await this.tx('upsert clients', async (c) => {
      for (const r of recs) {
        await c.query(
          `INSERT INTO clients (client_id, combiner_id, first_seen, last_seen, capabilities, contributed_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (client_id) DO UPDATE SET combiner_id = excluded.combiner_id,
             last_seen = GREATEST(clients.last_seen, excluded.last_seen), capabilities = excluded.capabilities,
             contributed_at = COALESCE(clients.contributed_at, excluded.contributed_at)`,
          [r.clientId, r.combinerId, r.firstSeen, r.lastSeen, json(r.capabilities), r.contributedAt ?? null],
        );
      }
    });
  }

  async listClients(page: ClientPage = {}): Promise<ClientSeenRecord[]> {
    const rows = await this.rows(
      'list clients',
      'SELECT * FROM clients WHERE client_id COLLATE "C" > $1 ORDER BY client_id COLLATE "C" LIMIT $2',
      [page.after ?? '', page.limit ?? null],
    );
    return rows.map(toClient);
  }

  async pruneClients(before: number): Promise<number> {
    return (await withPgRetry('prune clients', this.retries, () => this.pool.query('DELETE FROM clients WHERE contributed_at IS NULL AND last_seen < $1', [before]))).rowCount ?? 0;
  }

  async listMetrics(sessionId: string): Promise<MetricRow[]> {
    const rows = await this.rows('list metrics', 'SELECT * FROM metrics WHERE session_id = $1 ORDER BY round, scope COLLATE "C", name COLLATE "C"', [sessionId]);
    return rows.map((r) => ({
      sessionId: r.session_id as string,
      round: r.round as number,
      scope: r.scope as MetricRow['scope'],
      name: r.name as string,
      value: r.value as number,
    }));
  }

  async appendAudit(entry: AuditEntry): Promise<AuditRecord> {
    // Not retried: a retry after a lost reply would log the action twice.
    const { rows } = await withPgRetry('append audit', 0, () =>
      this.pool.query('INSERT INTO audit (at, actor, role, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
        entry.at, entry.actor, entry.role, entry.action, entry.target, json(entry.detail),
      ]),
    );
    return { id: Number((rows[0] as Row).id), ...entry };
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const rows = await this.rows(
      'list audit',
      `SELECT * FROM audit WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2) AND ($3::bigint IS NULL OR at >= $3)
       ORDER BY id DESC LIMIT $4`,
      [q.before ?? null, q.action ?? null, q.since ?? null, q.limit],
    );
    return rows.map(toAudit);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
