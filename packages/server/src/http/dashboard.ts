/**
 * A small operator dashboard: plain HTML polling the REST API every two seconds. With auth on, open it as
 * `/dashboard#token=<jwt>` (a viewer token is enough; the fragment never reaches the server logs).
 */
/**
 * The dashboard page served at `/dashboard`.
 * @example
 * ```ts
 * app.get('/dashboard', (_req, reply) => reply.type('text/html').send(DASHBOARD_HTML));
 * ```
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedweb dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; font-variant-numeric: tabular-nums; }
  th { background: #f5f5f5; }
  .on { color: #0a7d32; font-weight: 600; } .off { color: #999; }
  .err { color: #b00020; } .muted { color: #777; }
  button { margin-right: .3rem; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>fedweb</h1>
<div id="status" class="muted">loading...</div>
<div id="error" class="err"></div>
<h2>Session</h2>
<div id="session" class="muted">none</div>
<h2>Rounds</h2>
<table><thead><tr><th>round</th><th>status</th><th>updates</th><th>examples</th><th>combiners</th><th>train metrics</th><th title="example-weighted metrics the clients report on their held-out data (in simulation mode: the test split, never the shards)">held-out metrics</th><th>model</th></tr></thead><tbody id="rounds"></tbody></table>
<h2>Combiners</h2>
<table><thead><tr><th>id</th><th>url</th><th>clients</th><th>embedded</th></tr></thead><tbody id="combiners"></tbody></table>
<h2>Clients</h2>
<table><thead><tr><th>id</th><th>online</th><th>combiner</th><th>backend</th><th>battery</th><th>connection</th><th>last seen</th></tr></thead><tbody id="clients"></tbody></table>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const headers = token ? { Authorization: 'Bearer ' + token } : {};
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmt = (m) => Object.entries(m || {}).map(([k, v]) => esc(k) + '=' + (typeof v === 'number' ? +v.toPrecision(4) : esc(v))).join(' ');
async function api(path, init) {
  const r = await fetch(path, { ...init, headers: { ...headers, ...(init && init.headers) } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.code || r.status) + ': ' + (body.message || r.statusText));
  return body;
}
async function act(id, action) {
  try { await api('/api/sessions/' + encodeURIComponent(id) + '/' + action, { method: 'POST' }); refresh(); }
  catch (e) { $('error').textContent = e.message; }
}
window.act = act;
async function refresh() {
  try {
    const st = await api('/api/status');
    $('status').textContent = 'auth ' + (st.auth ? 'on' : 'OFF') + ' | ' + st.combiners + ' combiner(s) | ' + st.clientsOnline + ' client(s) online | package ' + (st.package ? st.package.name + '@' + st.package.version : 'none') + ' | up ' + st.uptimeS + ' s';
    const { sessions } = await api('/api/sessions');
    const s = sessions.find((x) => x.status === 'running' || x.status === 'paused') || sessions[sessions.length - 1];
    if (s) {
      const live = (st.live || []).find((l) => l.sessionId === s.id);
      $('session').innerHTML = '<code>' + esc(s.id) + '</code> ' + esc(s.name || '') + ' <b>' + esc(s.status) + '</b> ' + s.completedRounds + ' / ' + s.config.rounds + ' rounds, strategy ' + esc(s.config.strategy.name) +
        (live ? ' | round ' + live.round + ' ' + esc(live.phase) + ' (' + live.selected + ' selected)' : '') +
        (s.status === 'running' ? ' <button onclick="act(\\'' + esc(s.id) + '\\', \\'pause\\')">pause</button>' : '') +
        (s.status === 'paused' ? ' <button onclick="act(\\'' + esc(s.id) + '\\', \\'resume\\')">resume</button>' : '') +
        (s.status === 'running' || s.status === 'paused' ? '<button onclick="act(\\'' + esc(s.id) + '\\', \\'stop\\')">stop</button>' : '');
      const detail = await api('/api/sessions/' + encodeURIComponent(s.id));
      $('rounds').innerHTML = detail.rounds.slice(-50).reverse().map((r) => '<tr><td>' + r.round + '</td><td>' + esc(r.status) + (r.reason ? ' <span class="muted">' + esc(r.reason).slice(0, 120) + '</span>' : '') + '</td><td>' + r.updates + '</td><td>' + r.weight + '</td><td>' + esc(r.combiners.join(', ')) + '</td><td>' + fmt(r.trainMetrics) + '</td><td>' + fmt(r.validationMetrics) + '</td><td><code>' + esc(r.modelId || '') + '</code></td></tr>').join('');
    }
    const { combiners } = await api('/api/combiners');
    $('combiners').innerHTML = combiners.map((c) => '<tr><td>' + esc(c.combinerId) + '</td><td><code>' + esc(c.url) + '</code></td><td>' + c.clients + '</td><td>' + c.embedded + '</td></tr>').join('');
    const { clients } = await api('/api/clients?limit=500');
    $('clients').innerHTML = clients.slice(0, 500).map((c) => {
      const cap = c.capabilities || {};
      return '<tr><td>' + esc(c.clientId) + '</td><td class="' + (c.online ? 'on' : 'off') + '">' + (c.online ? 'online' : 'offline') + '</td><td>' + esc(c.combinerId || '') + '</td><td>' + esc(cap.backend || '') + '</td><td>' + (cap.battery ? Math.round(cap.battery.level * 100) + '%' + (cap.battery.charging ? ' (charging)' : '') : '') + '</td><td>' + esc((cap.connection && (cap.connection.type || cap.connection.effectiveType)) || '') + '</td><td>' + (c.lastSeen ? new Date(c.lastSeen).toLocaleTimeString() : '') + '</td></tr>';
    }).join('');
    $('error').textContent = '';
  } catch (e) {
    $('error').textContent = e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
