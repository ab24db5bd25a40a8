/**
 * The dashboard page: markup and style only. Its behaviour is in client/*.js (ES modules served at
 * `/dashboard/assets/`), its data comes from the REST API and the `/api/events` stream.
 */

/**
 * The page served at `/dashboard`.
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
<link rel="stylesheet" href="/dashboard/assets/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.2rem 1.5rem; color: #222; background: #fafafa; }
  h1 { font-size: 1.3rem; margin: 0; display: inline-block; }
  h2 { font-size: 1.05rem; margin: 1.3rem 0 .4rem; }
  header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .22rem .5rem; border-bottom: 1px solid #e3e3e3; font-variant-numeric: tabular-nums; }
  th { background: #f0f0f0; font-weight: 600; }
  .badge { padding: .05rem .45rem; border-radius: .6rem; font-size: 12px; background: #e8e8e8; }
  .badge.live { background: #d7f5df; color: #0a7d32; } .badge.down { background: #fde2e2; color: #b00020; }
  .on { color: #0a7d32; font-weight: 600; } .off { color: #999; }
  .err { color: #b00020; min-height: 1.2em; } .muted { color: #777; }
  tr.failed td { background: #fff1f1; } tr.failed .reason { color: #b00020; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: .8rem; }
  .chart { background: #fff; border: 1px solid #e3e3e3; padding: .4rem; }
  .chart h3 { font-size: .9rem; margin: 0 0 .2rem; font-weight: 600; }
  .controls { display: flex; gap: .4rem; align-items: center; flex-wrap: wrap; margin: .4rem 0; }
  .controls[data-readonly="true"] .op { display: none; }
  .trail ul { list-style: none; padding-left: 1.2rem; margin: 0; border-left: 1px dashed #ccc; }
  .trail > div > ul { border-left: none; padding-left: 0; }
  .trail li { margin: .2rem 0; }
  .trail button { font-size: 12px; margin-left: .3rem; }
  .pager { display: flex; gap: .5rem; align-items: center; margin: .4rem 0; }
  code { font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>fedweb</h1>
  <span id="conn" class="badge">connecting</span>
  <span id="role" class="badge"></span>
  <span id="status" class="muted">loading...</span>
</header>
<div id="error" class="err" role="alert"></div>

<h2>Session</h2>
<div id="session" class="muted">none</div>
<div id="controls" class="controls" data-readonly="true">
  <span class="op"><label>rounds <input id="start-rounds" type="number" min="1" value="5" style="width:4rem"></label></span>
  <span class="op"><label>config <input id="start-config" placeholder='{"clientsRequired": 2, "validate": true}' style="width:18rem"></label></span>
  <button id="start" class="op" disabled>start</button>
  <button id="pause" class="op" disabled>pause</button>
  <button id="resume" class="op" disabled>resume</button>
  <button id="stop" class="op" disabled>stop</button>
  <span id="readonly-note" class="muted">read-only (viewer)</span>
</div>

<h2>Rounds</h2>
<div class="charts">
  <div class="chart"><h3>global accuracy and loss (held-out)</h3><div id="chart-quality" class="plot"></div></div>
  <div class="chart"><h3>updates counted and refused, by reason</h3><div id="chart-updates" class="plot"></div></div>
  <div class="chart"><h3>update bytes in, model bytes out, and in as float32</h3><div id="chart-bytes" class="plot"></div></div>
  <div class="chart"><h3>round duration (s)</h3><div id="chart-duration" class="plot"></div></div>
  <div class="chart"><h3>clients online (at each round's end)</h3><div id="chart-clients" class="plot"></div></div>
</div>
<table id="rounds"><thead><tr><th>round</th><th>status</th><th>updates</th><th>refused</th><th>duration</th><th title="example-weighted metrics the clients report on their held-out data (in simulation mode: the test split, never the shards)">held-out accuracy</th><th>held-out loss</th><th>model</th></tr></thead><tbody></tbody></table>

<h2>Fleet</h2>
<div class="pager">
  <input id="fleet-q" type="search" placeholder="filter this page: id, combiner, backend, connection">
  <select id="fleet-online"><option value="all">all</option><option value="online">online</option><option value="offline">offline</option></select>
  <select id="fleet-size"><option>25</option><option selected>50</option><option>100</option><option>500</option></select>
  <button id="fleet-prev" disabled>&larr; prev</button><span id="fleet-page" class="muted">page 1</span><button id="fleet-next" disabled>next &rarr;</button>
</div>
<table id="fleet"><thead><tr><th>id</th><th>online</th><th>combiner</th><th>backend</th><th>battery</th><th>connection</th><th>last seen</th><th>rounds contributed</th></tr></thead><tbody></tbody></table>

<h2>Model trail</h2>
<div id="trail" class="trail muted">no models</div>

<script src="/dashboard/assets/uplot.js"></script>
<script type="module" src="/dashboard/assets/app.js"></script>
</body>
</html>
`;
