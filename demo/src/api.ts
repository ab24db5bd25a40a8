/**
 * The few REST endpoints the page reads besides the federated protocol (which FedClient speaks):
 * `/api/status` (clients online, the session and its live round) and `/api/models?sessionId=` (the model
 * trail, whose `val.*` metrics are the global model's validation results). Every call has a timeout; a
 * failed poll leaves the page as it was (the next poll retries).
 */

export interface TrailPoint {
  round: number;
  accuracy?: number;
  loss?: number;
}

export interface SessionView {
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

async function getJson(url: string, timeoutMs = 5000): Promise<unknown> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`GET ${url} timed out`)), timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal, cache: 'no-store' });
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
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
export async function fetchSessionView(): Promise<SessionView> {
  const status = await getJson('/api/status');
  let session = obj(obj(status)['activeSession']);
  if (!str(session['id'])) {
    const all = obj(await getJson('/api/sessions').catch(() => ({})))['sessions'];
    const latest = (Array.isArray(all) ? all : []).map(obj).sort((a, b) => (num(b['createdAt']) ?? 0) - (num(a['createdAt']) ?? 0))[0];
    if (latest) session = { id: latest['id'], status: latest['status'], completedRounds: latest['completedRounds'], rounds: obj(latest['config'])['rounds'], currentModelId: latest['currentModelId'] };
  }
  const id = str(session['id']);
  const models = id ? await getJson(`/api/models?sessionId=${encodeURIComponent(id)}`).catch(() => ({ models: [] })) : { models: [] };
  return parseSessionView(status, session, models);
}

/**
 * Pure part of {@link fetchSessionView}, tolerant of absent fields.
 * @example
 * ```ts
 * parseSessionView({ clientsOnline: 3 }, {}, { models: [] }); // { completedRounds: 0, clientsOnline: 3, trail: [] }
 * ```
 */
export function parseSessionView(statusJson: unknown, sessionJson: unknown, modelsJson: unknown): SessionView {
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
  const view: SessionView = { completedRounds: num(session['completedRounds']) ?? 0, clientsOnline: num(s['clientsOnline']) ?? 0, trail };
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
