/**
 * SQLite {@link StateStore} (better-sqlite3): WAL journal, `synchronous=FULL` so a committed transaction
 * survives a kill -9 or power loss, and every multi-row write in one transaction. The schema is versioned
 * (`PRAGMA user_version`, see sqlite-migrations.ts).
 */
import Database from 'better-sqlite3';
import { fedError } from '@fedweb/codec';
import { JSON_FIELDS, json, SESSION_COLUMNS, toAudit, toClient, toModel, toPackage, toRound, toSession, type Row } from './rows.js';
import { migrateSqlite } from './sqlite-migrations.js';
import type {
  AuditEntry,
  AuditQuery,
  AuditRecord,
  ClientPage,
  ClientSeenRecord,
  MetricRow,
  ModelRecord,
  PackageRecord,
  RoundCommit,
  RoundRecord,
  SessionRecord,
  StateStore,
} from './types.js';

/**
 * Opens (creating if needed) the SQLite state file.
 * @example
 * ```ts
 * const store = openSqliteStateStore(join(dataDir, 'state.db'));
 * ```
 */
export function openSqliteStateStore(file: string): StateStore {
  return new SqliteStateStore(file);
}

/**
 * The SQLite state store (see {@link openSqliteStateStore}).
 * @example
 * ```ts
 * const store = new SqliteStateStore('./.fedweb/state.db');
 * ```
 */
export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      // FULL: the WAL is fsynced at each commit, so "committed" survives power loss, not only a process kill.
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      migrateSqlite(this.db, file);
    } catch (e) {
      throw fedError('STORAGE', `cannot open state database ${file}: ${(e as Error).message}`, undefined, e);
    }
    const db = this.db;
    this.stmts = {
      insertSession: db.prepare(
        `INSERT INTO sessions (id, name, status, config, package_sha, initial_model_id, current_model_id, completed_rounds, strategy_state, strategy_state_sha, error, created_at, updated_at)
         VALUES (@id, @name, @status, @config, @packageSha, @initialModelId, @currentModelId, @completedRounds, @strategyState, @strategyStateSha, @error, @createdAt, @updatedAt)`,
      ),
      getSession: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      listSessions: db.prepare('SELECT * FROM sessions ORDER BY created_at, id'),
      putRound: db.prepare(
        `INSERT INTO rounds (id, session_id, round, status, started_at, deadline, last_update_at, committed_at, model_id, updates, weight, combiners, partials, train_metrics, validation_metrics, timings, reason)
         VALUES (@id, @sessionId, @round, @status, @startedAt, @deadline, @lastUpdateAt, @committedAt, @modelId, @updates, @weight, @combiners, @partials, @trainMetrics, @validationMetrics, @timings, @reason)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, deadline = excluded.deadline, last_update_at = excluded.last_update_at,
           committed_at = excluded.committed_at, model_id = excluded.model_id, updates = excluded.updates, weight = excluded.weight,
           combiners = excluded.combiners, partials = excluded.partials, train_metrics = excluded.train_metrics,
           validation_metrics = excluded.validation_metrics, timings = excluded.timings, reason = excluded.reason`,
      ),
      getRound: db.prepare('SELECT * FROM rounds WHERE id = ?'),
      listRounds: db.prepare('SELECT * FROM rounds WHERE session_id = ? ORDER BY round, started_at'),
      interrupt: db.prepare(
        `UPDATE rounds SET status = 'interrupted', reason = 'controller restarted' WHERE status NOT IN ('committed', 'failed', 'interrupted', 'aborted')`,
      ),
      insertModel: db.prepare(
        `INSERT INTO models (id, parent_id, session_id, round, sha256, bytes, blob_path, metrics, created_at)
         VALUES (@id, @parentId, @sessionId, @round, @sha256, @bytes, @blobPath, @metrics, @createdAt)`,
      ),
      insertModelIgnore: db.prepare(
        `INSERT OR IGNORE INTO models (id, parent_id, session_id, round, sha256, bytes, blob_path, metrics, created_at)
         VALUES (@id, @parentId, @sessionId, @round, @sha256, @bytes, @blobPath, @metrics, @createdAt)`,
      ),
      getModel: db.prepare('SELECT * FROM models WHERE id = ?'),
      listModels: db.prepare('SELECT * FROM models ORDER BY created_at, round, id'),
      listModelsBySession: db.prepare('SELECT * FROM models WHERE session_id = ? ORDER BY round, created_at'),
      putPackage: db.prepare(
        `INSERT INTO packages (sha256, name, version, manifest, seed_model_id, bytes, created_at, active)
         VALUES (@sha256, @name, @version, @manifest, @seedModelId, @bytes, @createdAt, 0)
         ON CONFLICT(sha256) DO UPDATE SET name = excluded.name, version = excluded.version, manifest = excluded.manifest, seed_model_id = excluded.seed_model_id`,
      ),
      deactivateAll: db.prepare('UPDATE packages SET active = 0 WHERE active = 1'),
      activate: db.prepare('UPDATE packages SET active = 1 WHERE sha256 = ?'),
      getPackage: db.prepare('SELECT * FROM packages WHERE sha256 = ?'),
      getActivePackage: db.prepare('SELECT * FROM packages WHERE active = 1 LIMIT 1'),
      upsertClient: db.prepare(
        `INSERT INTO clients (client_id, combiner_id, first_seen, last_seen, capabilities, contributed_at)
         VALUES (@clientId, @combinerId, @firstSeen, @lastSeen, @capabilities, @contributedAt)
         ON CONFLICT(client_id) DO UPDATE SET combiner_id = excluded.combiner_id,
           last_seen = MAX(clients.last_seen, excluded.last_seen), capabilities = excluded.capabilities,
           contributed_at = COALESCE(clients.contributed_at, excluded.contributed_at)`,
      ),
      listClients: db.prepare('SELECT * FROM clients WHERE client_id > @after ORDER BY client_id LIMIT @limit'),
      pruneClients: db.prepare('DELETE FROM clients WHERE contributed_at IS NULL AND last_seen < ?'),
      putMetric: db.prepare(
        `INSERT INTO metrics (session_id, round, scope, name, value) VALUES (@sessionId, @round, @scope, @name, @value)
         ON CONFLICT(session_id, round, scope, name) DO UPDATE SET value = excluded.value`,
      ),
      listMetrics: db.prepare('SELECT * FROM metrics WHERE session_id = ? ORDER BY round, scope, name'),
      appendAudit: db.prepare('INSERT INTO audit (at, actor, role, action, target, detail) VALUES (@at, @actor, @role, @action, @target, @detail)'),
      listAudit: db.prepare(
        `SELECT * FROM audit WHERE (@before IS NULL OR id < @before) AND (@action IS NULL OR action = @action) AND (@since IS NULL OR at >= @since)
         ORDER BY id DESC LIMIT @limit`,
      ),
    };
  }

  private run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      if (e instanceof Error && e.name === 'FedError') return Promise.reject(e);
      return Promise.reject(fedError('STORAGE', `${what}: ${(e as Error).message}`, undefined, e));
    }
  }

  private sessionParams(rec: SessionRecord): Row {
    return { ...rec, config: json(rec.config), strategyState: json(rec.strategyState) };
  }

  private roundParams(rec: RoundRecord): Row {
    return {
      ...rec,
      combiners: json(rec.combiners),
      partials: json(rec.partials),
      trainMetrics: json(rec.trainMetrics),
      validationMetrics: json(rec.validationMetrics),
      timings: json(rec.timings),
    };
  }

  private modelParams(rec: ModelRecord): Row {
    return { ...rec, metrics: json(rec.metrics) };
  }

  private updateSessionSync(id: string, patch: Partial<Omit<SessionRecord, 'id' | 'createdAt'>>): void {
    const sets: string[] = [];
    const params: Row = { id };
    for (const [key, value] of Object.entries({ ...patch, updatedAt: patch.updatedAt ?? Date.now() })) {
      const column = SESSION_COLUMNS[key];
      if (!column || value === undefined) continue;
      sets.push(`${column} = @${key}`);
      params[key] = JSON_FIELDS.has(key) ? json(value) : value;
    }
    const info = this.db.prepare(`UPDATE sessions SET ${sets.join(', ')} WHERE id = @id`).run(params);
    if (info.changes === 0) throw fedError('NOT_FOUND', `no session ${id}`);
  }

  createSession(rec: SessionRecord): Promise<void> {
    return this.run('create session', () => void this.stmts.insertSession.run(this.sessionParams(rec)));
  }

  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id' | 'createdAt'>>): Promise<void> {
    return this.run('update session', () => this.updateSessionSync(id, patch));
  }

  getSession(id: string): Promise<SessionRecord | null> {
    return this.run('get session', () => {
      const r = this.stmts.getSession.get(id) as Row | undefined;
      return r ? toSession(r) : null;
    });
  }

  listSessions(): Promise<SessionRecord[]> {
    return this.run('list sessions', () => (this.stmts.listSessions.all() as Row[]).map(toSession));
  }

  putRound(rec: RoundRecord): Promise<void> {
    return this.run('put round', () => void this.stmts.putRound.run(this.roundParams(rec)));
  }

  getRound(id: string): Promise<RoundRecord | null> {
    return this.run('get round', () => {
      const r = this.stmts.getRound.get(id) as Row | undefined;
      return r ? toRound(r) : null;
    });
  }

  listRounds(sessionId: string): Promise<RoundRecord[]> {
    return this.run('list rounds', () => (this.stmts.listRounds.all(sessionId) as Row[]).map(toRound));
  }

  interruptOpenRounds(): Promise<number> {
    return this.run('interrupt rounds', () => this.stmts.interrupt.run().changes);
  }

  commitRound(commit: RoundCommit): Promise<void> {
    return this.run('commit round', () => {
      this.db.transaction(() => {
        if (commit.model) this.stmts.insertModel.run(this.modelParams(commit.model));
        this.stmts.putRound.run(this.roundParams(commit.round));
        const { id, ...patch } = commit.session;
        this.updateSessionSync(id, patch);
        for (const m of commit.metrics) this.stmts.putMetric.run(m);
      })();
    });
  }

  putModel(rec: ModelRecord): Promise<void> {
    return this.run('put model', () => void this.stmts.insertModelIgnore.run(this.modelParams(rec)));
  }

  getModel(id: string): Promise<ModelRecord | null> {
    return this.run('get model', () => {
      const r = this.stmts.getModel.get(id) as Row | undefined;
      return r ? toModel(r) : null;
    });
  }

  listModels(filter?: { sessionId?: string }): Promise<ModelRecord[]> {
    return this.run('list models', () =>
      ((filter?.sessionId ? this.stmts.listModelsBySession.all(filter.sessionId) : this.stmts.listModels.all()) as Row[]).map(toModel),
    );
  }

  putPackage(rec: PackageRecord, activate: boolean): Promise<void> {
    return this.run('put package', () => {
      this.db.transaction(() => {
        this.stmts.putPackage.run({ ...rec, manifest: json(rec.manifest) });
        if (activate) {
          this.stmts.deactivateAll.run();
          this.stmts.activate.run(rec.sha256);
        }
      })();
    });
  }

  getPackage(sha256: string): Promise<PackageRecord | null> {
    return this.run('get package', () => {
      const r = this.stmts.getPackage.get(sha256) as Row | undefined;
      return r ? toPackage(r) : null;
    });
  }

  getActivePackage(): Promise<PackageRecord | null> {
    return this.run('get active package', () => {
      const r = this.stmts.getActivePackage.get() as Row | undefined;
      return r ? toPackage(r) : null;
    });
  }

  upsertClients(recs: ClientSeenRecord[]): Promise<void> {
    if (recs.length === 0) return Promise.resolve();
    return this.run('upsert clients', () => {
      this.db.transaction(() => {
        for (const c of recs) this.stmts.upsertClient.run({ ...c, capabilities: json(c.capabilities), contributedAt: c.contributedAt ?? null });
      })();
    });
  }

  listClients(page: ClientPage = {}): Promise<ClientSeenRecord[]> {
    return this.run('list clients', () => (this.stmts.listClients.all({ after: page.after ?? '', limit: page.limit ?? -1 }) as Row[]).map(toClient));
  }

  pruneClients(before: number): Promise<number> {
    return this.run('prune clients', () => this.stmts.pruneClients.run(before).changes);
  }

  listMetrics(sessionId: string): Promise<MetricRow[]> {
    return this.run('list metrics', () =>
      (this.stmts.listMetrics.all(sessionId) as Row[]).map((r) => ({
        sessionId: r.session_id as string,
        round: r.round as number,
        scope: r.scope as MetricRow['scope'],
        name: r.name as string,
        value: r.value as number,
      })),
    );
  }

  appendAudit(entry: AuditEntry): Promise<AuditRecord> {
    return this.run('append audit', () => {
      const info = this.stmts.appendAudit.run({ ...entry, detail: json(entry.detail) });
      return { id: Number(info.lastInsertRowid), ...entry };
    });
  }

  listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.run('list audit', () =>
      (this.stmts.listAudit.all({ before: q.before ?? null, action: q.action ?? null, since: q.since ?? null, limit: q.limit }) as Row[]).map(toAudit),
    );
  }

  close(): Promise<void> {
    return this.run('close', () => {
      if (this.db.open) this.db.close();
    });
  }
}
