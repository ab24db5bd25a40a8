/**
 * The page's REST calls, all through the one typed client (`@fedweb/server/client`) and the codec's fetch core:
 * `/api/status` (clients online, the session and its live round), `/api/models?sessionId=` (the model trail,
 * whose `val.*` metrics are the global model's validation results), the active package and blob downloads.
 * Every call has a timeout; a failed poll leaves the page as it was (the next poll retries).
 */
import { requestBytes } from '@fedweb/codec';
import { ApiClient } from '@fedweb/server/client';

/**
 * The controller that served this page (same origin), responses never cached.
 * @example
 * ```ts
 * const pkg = await pageApi.activePackage();
 * ```
 */
export const pageApi = new ApiClient({ baseUrl: '', timeoutMs: 30_000, init: { cache: 'no-store' } });

/**
 * Downloads bytes from the page's origin (shards, bundles, models) within a timeout.
 * @example
 * ```ts
 * const shard = decodeShard(await fetchBytes('/api/sim/shard?client=tab-1'));
 * ```
 */
export function fetchBytes(url: string, timeoutMs = 60_000): Promise<Uint8Array> {
  return requestBytes({ url, timeoutMs, maxBytes: 512 * 1024 * 1024 });
}

/**
 * One point of the chart: a committed round and its global model's validation metrics.
 * @example
 * ```ts
 * const p: TrailPoint = { round: 3, accuracy: 0.91, loss: 0.3 };
 * ```
 */
export interface TrailPoint {
  round: number;
  accuracy?: number;
  loss?: number;
}

/**
 * What the page shows of the session (parsed tolerantly from the REST answers).
 * @example
 * ```ts
 * const view: SessionSummary = await fetchSessionView();
 * ```
 */
export interface SessionSummary {
  sessionId?: string;
  /** Rounds finished so far, and the session's planned total. */
  completedRounds: number;
  rounds?: number;
  status?: string;
  /** The round in progress and its phase (`waiting`, `training`, `reducing`, `validating`). */
  live?: { round: number; phase: string; selected: number };
  currentModelId?: string;
  clientsOnline: number;
  trail: TrailPoint[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * Reads the session the page shows: the active one, or else the most recent.
 * @example
 * ```ts
 * const view = await fetchSessionView();
 * chart.set(view.trail);
 * ```
 */
export async function fetchSessionView(api: ApiClient = pageApi): Promise<SessionSummary> {
  const status = await api.status({ timeoutMs: 5000 });
  let session: Record<string, unknown> = status.activeSession ?? {};
  if (!status.activeSession) {
    const all = await api.listSessions({ timeoutMs: 5000 }).catch(() => []);
    const latest = all.sort((a, b) => b.createdAt - a.createdAt)[0];
    if (latest) session = { id: latest.id, status: latest.status, completedRounds: latest.completedRounds, rounds: latest.config.rounds, currentModelId: latest.currentModelId };
  }
  const id = str(session['id']);
  const models = id ? await api.listModels(id, { timeoutMs: 5000 }).catch(() => []) : [];
  return parseSessionView(status, session, { models });
}

/**
 * Pure part of {@link fetchSessionView}, tolerant of absent fields.
 * @example
 * ```ts
 * parseSessionView({ clientsOnline: 3 }, {}, { models: [] }); // { completedRounds: 0, clientsOnline: 3, trail: [] }
 * ```
 */
export function parseSessionView(statusJson: unknown, sessionJson: unknown, modelsJson: unknown): SessionSummary {
  const s = obj(statusJson);
  const session = obj(sessionJson);
  const trail: TrailPoint[] = [];
  const models = obj(modelsJson)['models'];
  for (const m of Array.isArray(models) ? models : []) {
    const o = obj(m);
    const round = num(o['round']);
    if (round === undefined) continue;
    const metrics = obj(o['metrics']);
    const point: TrailPoint = { round };
    const acc = num(metrics['val.accuracy']);
    const loss = num(metrics['val.loss']);
    if (acc !== undefined) point.accuracy = acc;
    if (loss !== undefined) point.loss = loss;
    trail.push(point);
  }
  trail.sort((a, b) => a.round - b.round);
  const view: SessionSummary = { completedRounds: num(session['completedRounds']) ?? 0, clientsOnline: num(s['clientsOnline']) ?? 0, trail };
  const id = str(session['id']);
  if (id) view.sessionId = id;
  const rounds = num(session['rounds']);
  if (rounds !== undefined) view.rounds = rounds;
  const status = str(session['status']);
  if (status) view.status = status;
  const modelId = str(session['currentModelId']);
  if (modelId) view.currentModelId = modelId;
  const live = (Array.isArray(s['live']) ? s['live'] : []).map(obj).find((l) => !id || l['sessionId'] === id);
  if (live) view.live = { round: num(live['round']) ?? 0, phase: str(live['phase']) ?? '', selected: num(live['selected']) ?? 0 };
  return view;
}
