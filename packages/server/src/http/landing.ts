/**
 * The server's own page at `/` when no static site is served (`fedweb server` without `--static`): what this
 * server is, how clients reach it, and links to the dashboard, the REST API and the demo when there is one.
 * Always also at `/about` (so a server that serves a site at `/` still explains itself). No data: the page
 * reads `/api/status` in the browser, like the dashboard.
 */
import type { FastifyInstance } from 'fastify';
import { htmlPageDoc } from './openapi/route-doc.js';

/**
 * The landing page's HTML. `demo`: a static site is served at `/` (link to it).
 * @example
 * ```ts
 * reply.type('text/html').send(landingHtml({ demo: false, auth: true }));
 * ```
 */
export function landingHtml(o: { demo: boolean; auth: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedweb server</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #1d2330; }
  h1 { font-size: 1.5rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
  code, pre { font: 13px ui-monospace, Menlo, monospace; background: #f3f4f7; border-radius: 4px; }
  code { padding: .05rem .3rem; } pre { padding: .6rem .8rem; overflow-x: auto; }
  .muted { color: #6b7385; } ul { padding-left: 1.2rem; } li { margin: .2rem 0; }
  .warn { color: #8a5a00; }
</style>
</head>
<body>
<h1>fedweb server</h1>
<p>This is a <strong>fedweb</strong> federated-learning server: the controller (sessions, rounds, the model trail),
discovery and the reducer, with an embedded combiner that browser and Node clients connect to. Clients train on
their own data and send only model updates. <span id="status" class="muted">Reading /api/status…</span></p>
${o.auth ? '' : '<p class="warn"><strong>Auth is off</strong> (no <code>--secret</code>): anyone who can reach this port can run sessions and join as any client. Dev mode only.</p>'}
<h2>Links</h2>
<ul>
  <li><a href="/dashboard">Dashboard</a>: sessions, rounds, clients and combiners, live${o.auth ? ' (open it as <code>/dashboard#token=&lt;jwt&gt;</code>, a viewer token is enough)' : ''}.</li>
  <li><a href="/api/status">/api/status</a>: the REST API's status (JSON). The API: <code>/api/sessions</code>, <code>/api/models</code>, <code>/api/packages/active</code>, <code>/api/clients</code>, <code>/api/combiners</code>, <code>POST /api/discover</code>; every route, its parameters, answers and required role in the <a href="/docs">API reference</a> (<a href="/openapi.json">/openapi.json</a>, OpenAPI 3.1), typed by <code>@fedweb/server/client</code>.</li>
  ${o.demo ? '<li><a href="/">The demo</a>: the site this server serves at <code>/</code>.</li>' : '<li class="muted">No site is served at <code>/</code> (start with <code>--static &lt;dir&gt;</code> to serve one, e.g. the demo).</li>'}
</ul>
<h2>Connect a client</h2>
<p>A client needs this server's address and, with auth on, a client token (<code>fedweb token --role client --sub &lt;id&gt;</code>):</p>
<pre>import { FedClient } from '@fedweb/sdk-client';        // Node: '@fedweb/sdk-client/node'
const client = new FedClient({ server: '<span class="origin">http://this-host:port</span>', token, data: { load: () =&gt; myExamples } });
await client.start();</pre>
<p>It asks <code>POST /api/discover</code> for its combiner and dials its WebSocket. A page using WebCrypto must be
served over <code>https://</code> or from <code>localhost</code>; a page on another origin may call this server
(<code>/api/*</code> answers CORS).</p>
<h2>Run a session</h2>
<pre>fedweb session start --url <span class="origin">http://this-host:port</span> --rounds 10 --clients-required 2 --wait</pre>
<script>
  for (const el of document.querySelectorAll('.origin')) el.textContent = location.origin;
  fetch('/api/status').then((r) => r.json()).then((s) => {
    const a = s.activeSession;
    document.getElementById('status').textContent = 'Version ' + s.version + ', ' + s.clientsOnline + ' client(s) online, ' +
      (a ? 'session ' + a.id + ' ' + a.status + ' (' + a.completedRounds + '/' + a.rounds + ' rounds)' : 'no session running') +
      (s.package ? ', package ' + s.package.name + ' ' + s.package.version : ', no compute package yet') + '.';
  }).catch(() => { document.getElementById('status').textContent = ''; });
</script>
</body>
</html>
`;
}

/**
 * Registers the landing page at `/about`, and at `/` when no static site is served there.
 * @example
 * ```ts
 * registerLanding(app, { demo: Boolean(opts.staticDir), auth: auth.enabled });
 * ```
 */
export function registerLanding(app: FastifyInstance, o: { demo: boolean; auth: boolean }): void {
  const html = landingHtml(o);
  const send = async (_req: unknown, reply: import('fastify').FastifyReply) => reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html);
  const doc = (where: string) => htmlPageDoc(`The landing page (HTML)${where}`, 'What this server is, links to the dashboard, the API and its reference, and how clients connect.');
  app.get('/about', { config: { doc: doc('') } }, send);
  if (!o.demo) app.get('/', { config: { doc: doc(', when no static site is served at /') } }, send);
}
