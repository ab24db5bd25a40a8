// The dashboard: connects to /api/events, loads what the stream does not carry from the REST API, and redraws
// the session, the charts, the rounds table, the fleet and the trail as events arrive (no polling).
import { createApi, esc, takeToken } from './api.js';
import { Charts, durationOf } from './charts.js';
import { Fleet } from './fleet.js';
import { Trail } from './trail.js';

const $ = (id) => document.getElementById(id);
const client = createApi(takeToken());
const showError = (msg) => ($('error').textContent = msg || '');
const state = { canOperate: false, sessions: new Map(), sessionId: null, rounds: new Map(), ledger: new Map(), live: null };
const charts = new Charts(document);
const fleet = new Fleet(client.api, document);
const trail = new Trail(client, document, showError);
window.__dashboard = state;

const ACTIVE = new Set(['running', 'paused']);
const num = (v, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? String(+v.toPrecision(d)) : '');

/** The session shown: the active one, else the newest. */
function pickSession() {
  const all = [...state.sessions.values()].sort((a, b) => a.createdAt - b.createdAt);
  return (all.find((s) => ACTIVE.has(s.status)) || all[all.length - 1] || null)?.id ?? null;
}

async function loadSession(id) {
  state.sessionId = id;
  state.rounds = new Map();
  if (id) {
    const detail = await client.api('/api/sessions/' + encodeURIComponent(id));
    if (state.sessionId !== id) return; // another session was picked meanwhile
    // Events that arrived while this was loading are newer than the answer: they stay.
    const known = state.sessions.get(id);
    if (!known || known.updatedAt <= detail.session.updatedAt) state.sessions.set(id, detail.session);
    for (const r of detail.rounds) if (!state.rounds.has(r.id)) state.rounds.set(r.id, r);
  }
  renderSession();
  renderRounds();
}

function renderSession() {
  const s = state.sessionId ? state.sessions.get(state.sessionId) : null;
  const live = s && state.live ? state.live.live.find((l) => l.sessionId === s.id) : null;
  $('session').innerHTML = s
    ? '<code>' + esc(s.id) + '</code> ' + esc(s.name || '') + ' <b data-status="' + esc(s.status) + '">' + esc(s.status) + '</b> ' + s.completedRounds + ' / ' + s.config.rounds +
      ' rounds · strategy ' + esc(s.config.strategy.name) + (live ? ' · round ' + live.round + ' ' + esc(live.phase) + ' (' + live.selected + ' selected)' : '') + (s.error ? ' <span class="err">' + esc(s.error) + '</span>' : '')
    : 'no session yet';
  $('session').classList.toggle('muted', !s);
  const active = s && ACTIVE.has(s.status);
  const can = state.canOperate;
  $('start').disabled = !can || !!active;
  $('pause').disabled = !can || s?.status !== 'running';
  $('resume').disabled = !can || s?.status !== 'paused';
  $('stop').disabled = !can || !active;
}

function renderRounds() {
  const rs = [...state.rounds.values()].sort((a, b) => a.round - b.round);
  charts.render(rs, state.ledger);
  $('rounds').querySelector('tbody').innerHTML = rs
    .slice()
    .reverse()
    .slice(0, 200)
    .map((r) => {
      const row = state.ledger.get(r.id);
      const refused = row ? Object.entries(row.refused).map(([c, n]) => esc(c) + ' ' + n).join(', ') || '0' : String((r.partials || []).reduce((n, p) => n + p.refused + p.refusedStale, 0));
      const bad = r.status !== 'committed';
      const d = durationOf(r, row);
      return (
        '<tr data-round="' + r.round + '" class="' + (bad ? 'failed' : '') + '"><td>' + r.round + '</td><td>' + esc(r.status) + (r.reason ? ' <span class="reason">' + esc(r.reason).slice(0, 200) + '</span>' : '') +
        '</td><td>' + r.updates + '</td><td>' + refused + '</td><td>' + (d === null ? '' : d.toFixed(1) + ' s') + '</td><td>' + num(r.validationMetrics?.accuracy ?? r.trainMetrics?.accuracy) +
        '</td><td>' + num(r.validationMetrics?.loss ?? r.trainMetrics?.loss) + '</td><td><code>' + esc(r.modelId || '') + '</code></td></tr>'
      );
    })
    .join('');
}

function renderStatus() {
  const l = state.live;
  if (!l) return;
  $('status').textContent = l.clientsOnline + ' client(s) online · ' + l.combiners.map((c) => c.id + ' ' + c.clients).join(', ');
}

async function act(action) {
  showError('');
  try {
    if (action === 'start') {
      // The session config: the JSON typed (any field of the config schema), its rounds from the rounds box.
      const text = $('start-config').value.trim();
      let config = {};
      try {
        config = text ? JSON.parse(text) : {};
      } catch (e) {
        throw new Error('config is not JSON: ' + e.message);
      }
      const rounds = Number($('start-rounds').value) || 1;
      await client.api('/api/sessions', { method: 'POST', body: { ...config, rounds } });
    } else await client.api('/api/sessions/' + encodeURIComponent(state.sessionId) + '/' + action, { method: 'POST' });
  } catch (e) {
    showError(e.message);
  }
}
for (const a of ['start', 'pause', 'resume', 'stop']) $(a).addEventListener('click', () => void act(a));

async function initialLoad() {
  const { sessions } = await client.api('/api/sessions');
  state.sessions = new Map(sessions.map((s) => [s.id, s]));
  await Promise.all([loadSession(pickSession()), fleet.reset(), trail.load()]);
}

const handlers = {
  hello(h) {
    state.canOperate = h.canOperate;
    trail.canOperate = h.canOperate;
    $('role').textContent = h.auth ? h.role : 'auth off';
    $('controls').dataset.readonly = String(!h.canOperate);
    $('readonly-note').hidden = h.canOperate;
    state.ledger = new Map(h.ledger.map((row) => [row.roundId, row]));
    initialLoad().then(() => showError(''), (e) => showError(e.message));
  },
  session(s) {
    const isNew = !state.sessions.has(s.id);
    state.sessions.set(s.id, s);
    if (isNew || (s.id !== state.sessionId && ACTIVE.has(s.status))) void loadSession(s.id).catch((e) => showError(e.message));
    else renderSession();
  },
  round({ round, row }) {
    state.ledger.set(row.roundId, row);
    if (round.sessionId !== state.sessionId) return;
    state.rounds.set(round.id, round);
    renderRounds();
    fleet.refreshSoon();
  },
  model(m) {
    trail.add(m);
  },
  live(l) {
    const before = state.live ? state.live.clientsOnline : -1;
    state.live = l;
    renderStatus();
    renderSession();
    if (l.clientsOnline !== before) fleet.refreshSoon();
  },
};

client.stream(
  '/api/events',
  (name, data) => handlers[name]?.(data),
  (st, detail) => {
    const el = $('conn');
    el.textContent = st === 'live' ? 'live' : st === 'denied' ? 'denied' : 'reconnecting';
    el.className = 'badge ' + (st === 'live' ? 'live' : 'down');
    if (st === 'denied') showError(detail + (location.hash ? '' : ' (open the dashboard as /dashboard#token=<jwt>)'));
  },
);
