/**
 * The page's REST calls, all through the one typed client (`@fedweb/server/client`) and the codec's fetch core:
 * `/api/status` (clients online, the session and its live round), `/api/models?sessionId=` (the model trail,
 * whose `val.*` metrics are the global model's validation results), the active package and blob downloads.
 * Every call has a timeout; a failed poll leaves the page as it was (the next poll retries).
 */
import { requestBytes } from '@fedweb/codec';
import { ApiClient } from '@fedweb/server/client';
import { z } from 'zod';

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
 * One point of the chart: a committed round and its global model's validation metrics, or a failed round
 * (counted towards the session's rounds, the global model unchanged) and why it failed.
 * @example
 * ```ts
 * const p: TrailPoint = { round: 3, accuracy: 0.91, loss: 0.3 };
 * const f: TrailPoint = { round: 4, failed: 'only 1 update, the validity policy asks for 2' };
 * ```
 */
export interface TrailPoint {
  round: number;
  accuracy?: number;
  loss?: number;
  /** Set when the round failed: the server's reason. */
  failed?: string;
}

/**
 * How a session ended (absent while it runs).
 * @example
 * ```ts
 * const end: SessionEnd = { status: 'completed', rounds: 20, failed: 1, finalAccuracy: 0.93 };
 * ```
 */
export interface SessionEnd {
  status: 'completed' | 'stopped' | 'failed';
  /** Rounds run (committed and failed). */
  rounds: number;
  failed: number;
  finalAccuracy?: number;
  /** The session's error, when it failed. */
  error?: string;
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
  name?: string;
  /** Rounds finished so far, and the session's planned total. */
  completedRounds: number;
  rounds?: number;
  status?: string;
  /** The round in progress and its phase (`waiting`, `training`, `reducing`, `validating`). */
  live?: { round: number; phase: string; selected: number };
  currentModelId?: string;
  clientsOnline: number;
  /** Committed rounds with their metrics and failed rounds with their reason, by round. */
  trail: TrailPoint[];
  /** Set once the session has ended. */
  ended?: SessionEnd;
  /** The server lets this page start a session: auth is off (demo mode), so anyone may operate it. */
  canStart: boolean;
  /** The session's config as the server stored it (to start the same again). */
  config?: Record<string, unknown>;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * Reads the session the page shows: the active one, or else the most recent; its rounds (`GET /api/sessions/:id`)
 * and its model trail (`GET /api/models?sessionId=`).
 * @example
 * ```ts
 * const view = await fetchSessionView();
 * chart.set(view.trail);
 * ```
 */
export async function fetchSessionView(api: ApiClient = pageApi): Promise<SessionSummary> {
  const status = await api.status({ timeoutMs: 5000 });
  let id = status.activeSession?.id;
  if (!id) {
    const all = await api.listSessions({ timeoutMs: 5000 }).catch(() => []);
    id = all.sort((a, b) => b.createdAt - a.createdAt)[0]?.id;
  }
  if (!id) return parseSessionView(status, {}, { models: [] });
  const [detail, models] = await Promise.all([api.getSession(id, { timeoutMs: 5000 }).catch(() => undefined), api.listModels(id, { timeoutMs: 5000 }).catch(() => [])]);
  return parseSessionView(status, detail?.session ?? status.activeSession ?? { id }, { models }, { rounds: detail?.rounds ?? [] });
}

/**
 * Starts a new session with the same settings as `view`'s (the page's "start a new session" button; the server
 * refuses it unless auth is off, i.e. demo mode).
 * @example
 * ```ts
 * if (view.canStart && view.ended) await startSessionLike(view);
 * ```
 */
export async function startSessionLike(view: SessionSummary, api: ApiClient = pageApi): Promise<string> {
  const config = { ...(view.config ?? {}) };
  delete config['initialModelId'];
  if (view.name) config['name'] = view.name;
  return (await api.startSession(config, { timeoutMs: 15_000 })).id;
}

/**
 * Pure part of {@link fetchSessionView}, tolerant of absent fields.
 * @example
 * ```ts
 * parseSessionView({ clientsOnline: 3 }, {}, { models: [] }); // { completedRounds: 0, clientsOnline: 3, trail: [], canStart: false }
 * ```
 */
export function parseSessionView(statusJson: unknown, sessionJson: unknown, modelsJson: unknown, roundsJson: unknown = {}): SessionSummary {
  const s = obj(statusJson);
  const session = obj(sessionJson);
  const byRound = new Map<number, TrailPoint>();
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
    byRound.set(round, point);
  }
  const rounds = obj(roundsJson)['rounds'];
  for (const r of Array.isArray(rounds) ? rounds : []) {
    const o = obj(r);
    const round = num(o['round']);
    if (round === undefined || o['status'] !== 'failed' || byRound.has(round)) continue;
    byRound.set(round, { round, failed: (str(o['reason']) ?? 'no reason given').slice(0, 300) });
  }
  const trail = [...byRound.values()].sort((a, b) => a.round - b.round);
  const view: SessionSummary = { completedRounds: num(session['completedRounds']) ?? 0, clientsOnline: num(s['clientsOnline']) ?? 0, trail, canStart: s['auth'] === false };
  const id = str(session['id']);
  if (id) view.sessionId = id;
  const name = str(session['name']);
  if (name) view.name = name;
  const config = session['config'];
  if (config && typeof config === 'object') view.config = { ...(config as Record<string, unknown>) };
  const planned = num(session['rounds']) ?? num(obj(config)['rounds']);
  if (planned !== undefined) view.rounds = planned;
  const status = str(session['status']);
  if (status) view.status = status;
  const modelId = str(session['currentModelId']);
  if (modelId) view.currentModelId = modelId;
  const live = (Array.isArray(s['live']) ? s['live'] : []).map(obj).find((l) => !id || l['sessionId'] === id);
  if (live) view.live = { round: num(live['round']) ?? 0, phase: str(live['phase']) ?? '', selected: num(live['selected']) ?? 0 };
  if (status === 'completed' || status === 'stopped' || status === 'failed') {
    const lastAcc = [...trail].reverse().find((p) => p.accuracy !== undefined)?.accuracy;
    const error = str(session['error']);
    view.ended = {
      status,
      rounds: view.completedRounds,
      failed: trail.filter((p) => p.failed !== undefined).length,
      ...(lastAcc !== undefined ? { finalAccuracy: lastAcc } : {}),
      ...(error ? { error } : {}),
    };
  }
  return view;
}

const SimInfoSchema = z.object({ reference: z.object({ accuracy: z.number().min(0).max(1), note: z.string().max(500).optional() }).loose().nullable().optional() }).loose();

/**
 * The centralized reference accuracy of the simulation's data (the same model trained in one place on the
 * same digits), when the server was told it (`simRoutes({ reference })`); undefined otherwise or on any error.
 * @example
 * ```ts
 * const ref = await fetchSimReference(); // 0.978
 * ```
 */
export async function fetchSimReference(api: ApiClient = pageApi): Promise<number | undefined> {
  const info = await api.request('/api/sim/info', { schema: SimInfoSchema, timeoutMs: 5000 }).catch(() => undefined);
  return info?.reference?.accuracy;
}
