/**
 * Row <-> record mapping shared by the SQL state stores (SQLite and PostgreSQL write the same columns: JSON as
 * text, epoch ms as integers, `active` as 0/1).
 */
import type { AuditRecord, ClientSeenRecord, ModelRecord, PackageRecord, RoundRecord, SessionRecord } from './types.js';

export type Row = Record<string, unknown>;
export const json = (v: unknown): string => JSON.stringify(v ?? null);
export const parse = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function toSession(r: Row): SessionRecord {
  return {
    id: r.id as string,
    name: strOrNull(r.name),
    status: r.status as SessionRecord['status'],
    config: parse(r.config, {} as SessionRecord['config']),
    packageSha: r.package_sha as string,
    initialModelId: r.initial_model_id as string,
    currentModelId: r.current_model_id as string,
    completedRounds: r.completed_rounds as number,
    strategyState: parse(r.strategy_state, null),
    strategyStateSha: strOrNull(r.strategy_state_sha),
    error: strOrNull(r.error),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

export function toRound(r: Row): RoundRecord {
  return {
    id: r.id as string,
    sessionId: r.session_id as string,
    round: r.round as number,
    status: r.status as RoundRecord['status'],
    startedAt: r.started_at as number,
    deadline: numOrNull(r.deadline),
    lastUpdateAt: numOrNull(r.last_update_at),
    committedAt: numOrNull(r.committed_at),
    modelId: strOrNull(r.model_id),
    updates: r.updates as number,
    weight: r.weight as number,
    combiners: parse(r.combiners, []),
    partials: parse(r.partials, []),
    trainMetrics: parse(r.train_metrics, {}),
    validationMetrics: parse(r.validation_metrics, {}),
    timings: parse(r.timings, {}),
    reason: strOrNull(r.reason),
  };
}

export function toModel(r: Row): ModelRecord {
  return {
    id: r.id as string,
    parentId: strOrNull(r.parent_id),
    sessionId: strOrNull(r.session_id),
    round: r.round as number,
    sha256: r.sha256 as string,
    bytes: r.bytes as number,
    blobPath: r.blob_path as string,
    metrics: parse(r.metrics, {}),
    createdAt: r.created_at as number,
  };
}

export function toPackage(r: Row): PackageRecord {
  return {
    sha256: r.sha256 as string,
    name: r.name as string,
    version: r.version as string,
    manifest: parse(r.manifest, {}),
    seedModelId: r.seed_model_id as string,
    bytes: r.bytes as number,
    createdAt: r.created_at as number,
    active: r.active === 1,
  };
}

export function toClient(r: Row): ClientSeenRecord {
  return {
    clientId: r.client_id as string,
    combinerId: strOrNull(r.combiner_id),
    firstSeen: r.first_seen as number,
    lastSeen: r.last_seen as number,
    capabilities: parse(r.capabilities, {}),
    contributedAt: r.contributed_at === null || r.contributed_at === undefined ? null : Number(r.contributed_at),
  };
}

export const SESSION_COLUMNS: Record<string, string> = {
  name: 'name',
  status: 'status',
  config: 'config',
  packageSha: 'package_sha',
  initialModelId: 'initial_model_id',
  currentModelId: 'current_model_id',
  completedRounds: 'completed_rounds',
  strategyState: 'strategy_state',
  strategyStateSha: 'strategy_state_sha',
  error: 'error',
  updatedAt: 'updated_at',
};
export const JSON_FIELDS = new Set(['config', 'strategyState']);


export function toAudit(r: Row): AuditRecord {
  return {
    id: Number(r.id),
    at: Number(r.at),
    actor: r.actor as string,
    role: strOrNull(r.role),
    action: r.action as string,
    target: strOrNull(r.target),
    detail: parse(r.detail, {}),
  };
}
