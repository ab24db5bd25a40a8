import type { ClientSeenRecord, MetricRow, ModelRecord, PackageRecord, RoundCommit, RoundRecord, SessionRecord, StateStore } from './types.js';
/**
 * Opens (creating if needed) the SQLite state file.
 * @example
 * ```ts
 * const store = openSqliteStateStore(join(dataDir, 'state.db'));
 * ```
 */
export declare function openSqliteStateStore(file: string): StateStore;
export declare class SqliteStateStore implements StateStore {
    private readonly db;
    private readonly stmts;
    constructor(file: string);
    private run;
    private sessionParams;
    private roundParams;
    private modelParams;
    private updateSessionSync;
    createSession(rec: SessionRecord): Promise<void>;
    updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id' | 'createdAt'>>): Promise<void>;
    getSession(id: string): Promise<SessionRecord | null>;
    listSessions(): Promise<SessionRecord[]>;
    putRound(rec: RoundRecord): Promise<void>;
    getRound(id: string): Promise<RoundRecord | null>;
    listRounds(sessionId: string): Promise<RoundRecord[]>;
    interruptOpenRounds(): Promise<number>;
    commitRound(commit: RoundCommit): Promise<void>;
    putModel(rec: ModelRecord): Promise<void>;
    getModel(id: string): Promise<ModelRecord | null>;
    listModels(filter?: {
        sessionId?: string;
    }): Promise<ModelRecord[]>;
    putPackage(rec: PackageRecord, activate: boolean): Promise<void>;
    getPackage(sha256: string): Promise<PackageRecord | null>;
    getActivePackage(): Promise<PackageRecord | null>;
    upsertClients(recs: ClientSeenRecord[]): Promise<void>;
    listClients(): Promise<ClientSeenRecord[]>;
    listMetrics(sessionId: string): Promise<MetricRow[]>;
    close(): Promise<void>;
}
