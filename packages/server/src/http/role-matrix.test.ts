/**
 * The role x endpoint matrix of the root README ("Threat model: principals, roles and tokens"), checked cell by
 * cell over real HTTP and WebSockets against a server with auth on; and the table lists every route the server
 * registers (a new route without a row fails here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { issueToken, type Role } from '../auth.js';
import type { FedServer } from '../server.js';
import { startTestServer, until } from '../testing/harness.js';
import { MATRIX_COLUMNS, readRoleMatrix, registeredRoutes, type MatrixCaller } from '../testing/routes.js';

const SECRET = 'a-test-secret-of-enough-length';
const COLUMNS = MATRIX_COLUMNS;
type Caller = MatrixCaller;
type Outcome = 'allowed' | 'forbidden' | 'unauthorized';
const SUB: Record<Caller, string> = { admin: 'root', operator: 'ops', viewer: 'eyes', combiner: 'c-matrix', client: 'kiosk-1', none: 'anon-1' };

const expected = (cell: string): Outcome => (cell.startsWith('✓') ? 'allowed' : cell === '✗' ? 'forbidden' : cell === '401' ? 'unauthorized' : (() => { throw new Error(`unknown matrix cell '${cell}'`); })());
const ofStatus = (status: number): Outcome => (status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'allowed');
const ofCode = (code: string | undefined): Outcome => (code === 'UNAUTHORIZED' ? 'unauthorized' : code === 'FORBIDDEN' ? 'forbidden' : 'allowed');

const MATRIX = readRoleMatrix();
let server: FedServer;
let cleanup: () => Promise<void>;
let pkgSha = '';
const tokens = {} as Record<Caller, string | undefined>;

beforeAll(async () => {
  const t = await startTestServer({ secret: SECRET, logger: false, seed: [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }] });
  server = t.server;
  cleanup = t.cleanup;
  for (const c of COLUMNS) tokens[c] = c === 'none' ? undefined : await issueToken({ secret: SECRET, role: c as Role, sub: SUB[c] });
  const active = (await (await fetch(`${server.url}/api/packages/active`, { headers: { authorization: `Bearer ${tokens.admin}` } })).json()) as { package: { sha256: string } };
  pkgSha = active.package.sha256;
});
afterAll(async () => cleanup());

async function http(method: string, path: string, caller: Caller, body?: unknown): Promise<Outcome> {
  const token = tokens[caller];
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  return ofStatus(res.status);
}

/** An endless response (an event stream): classified by its status, then let go. */
async function stream(path: string, caller: Caller): Promise<Outcome> {
  const token = tokens[caller];
  const abort = new AbortController();
  const res = await fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: abort.signal });
  abort.abort();
  await res.body?.cancel().catch(() => undefined);
  return ofStatus(res.status);
}

/** Opens a WebSocket with the caller's token, sends `hello`, and classifies the answer. */
async function ws(path: string, caller: Caller, hello: (id: string) => object, id: string, registered?: (id: string) => boolean): Promise<Outcome> {
  const token = tokens[caller];
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  try {
    const first = await new Promise<{ status?: number }>((resolve, reject) => {
      socket.once('open', () => resolve({}));
      socket.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
      socket.once('error', reject);
    });
    if (first.status !== undefined) return ofStatus(first.status);
    const answers: Array<{ kind: string; code?: string }> = [];
    socket.on('message', (d, binary) => {
      if (!binary) answers.push(JSON.parse(d.toString()) as { kind: string; code?: string });
    });
    socket.send(JSON.stringify({ v: 2, ...hello(id), ...(token ? { token } : {}) }));
    const answer = await until(() => answers.find((m) => m.kind === 'error' || m.kind === 'welcome') ?? (registered?.(id) ? { kind: 'registered' } : undefined), 10_000, `answer on ${path}`);
    return answer.kind === 'error' ? ofCode(answer.code) : 'allowed';
  } finally {
    socket.terminate();
    if (registered) await until(() => !registered(id), 10_000, `${id} unregistered`);
  }
}

const combinerHello = (id: string) => ({ kind: 'combiner.hello', combinerId: id, url: 'ws://127.0.0.1:1/ws/client' });
const clientHello = (id: string) => ({ kind: 'hello', clientId: id, capabilities: {} });

/** One request per endpoint; `id` is the client or combiner id the caller claims. */
const PROBES: Record<string, (caller: Caller, id: string) => Promise<Outcome>> = {
  'GET /.well-known/jwks.json': (c) => http('GET', '/.well-known/jwks.json', c),
  'GET /': (c) => http('GET', '/', c),
  'GET /about': (c) => http('GET', '/about', c),
  'GET /dashboard': (c) => http('GET', '/dashboard', c),
  'GET /dashboard/assets/:file': (c) => http('GET', '/dashboard/assets/app.js', c),
  'GET /metrics': (c) => http('GET', '/metrics', c),
  'GET /healthz': (c) => http('GET', '/healthz', c),
  'GET /openapi.json': (c) => http('GET', '/openapi.json', c),
  'GET /docs': (c) => http('GET', '/docs', c),
  'GET /docs/:asset': (c) => http('GET', '/docs/init.js', c),
  'GET /api/status': (c) => http('GET', '/api/status', c),
  'POST /api/discover': (c, id) => http('POST', '/api/discover', c, { clientId: id }),
  'GET /api/clients': (c) => http('GET', '/api/clients', c),
  'GET /api/combiners': (c) => http('GET', '/api/combiners', c),
  'GET /api/events': (c) => stream('/api/events', c),
  'GET /api/contributions': (c) => http('GET', '/api/contributions?ids=kiosk-1', c),
  'GET /api/sessions': (c) => http('GET', '/api/sessions', c),
  'GET /api/sessions/:id': (c) => http('GET', '/api/sessions/no-such-session', c),
  'POST /api/sessions': (c) => http('POST', '/api/sessions', c, { rounds: 0 }),
  'POST /api/sessions/:id/pause': (c) => http('POST', '/api/sessions/no-such-session/pause', c, {}),
  'POST /api/sessions/:id/resume': (c) => http('POST', '/api/sessions/no-such-session/resume', c, {}),
  'POST /api/sessions/:id/stop': (c) => http('POST', '/api/sessions/no-such-session/stop', c, {}),
  'POST /api/sessions/:id/rollback': (c) => http('POST', '/api/sessions/no-such-session/rollback', c, { modelId: 'no-such-model' }),
  'GET /api/models': (c) => http('GET', '/api/models', c),
  'GET /api/models/:id': (c) => http('GET', '/api/models/no-such-model', c),
  'GET /api/blobs/:sha256': (c) => http('GET', `/api/blobs/${'0'.repeat(64)}`, c),
  'POST /api/packages': (c) => http('POST', '/api/packages', c, {}),
  'GET /api/packages/active': (c) => http('GET', '/api/packages/active', c),
  'GET /api/packages/:sha256': (c) => http('GET', `/api/packages/${pkgSha}`, c),
  'GET /api/packages/:sha256/manifest': (c) => http('GET', `/api/packages/${pkgSha}/manifest`, c),
  'GET /api/audit': (c) => http('GET', '/api/audit?limit=5', c),
  'POST /api/tokens': (c) => http('POST', '/api/tokens', c, { role: 'viewer', sub: 'someone', ttl: '1h' }),
  'WS /ws/combiner': (c, id) => ws('/ws/combiner', c, combinerHello, id, (x) => !!server.registry.get(x)),
  'WS /ws/client': (c, id) => ws('/ws/client', c, clientHello, id),
};

describe('role x endpoint matrix (README)', () => {
  it('the README table has a row for every route the server registers, and a probe for every row', () => {
    const routes = registeredRoutes(server.app);
    expect([...routes].sort()).toEqual([...MATRIX.keys()].sort());
    expect(Object.keys(PROBES).sort()).toEqual([...MATRIX.keys()].sort());
  });

  for (const [endpoint, row] of MATRIX) {
    for (const caller of COLUMNS) {
      const cell = row[caller];
      it(`${endpoint} as ${caller}: ${cell}`, async () => {
        const probe = PROBES[endpoint];
        if (!probe) throw new Error(`no probe for ${endpoint}`);
        expect(await probe(caller, SUB[caller])).toBe(expected(cell));
        // "(own id)": the same token claiming another id is refused.
        if (cell.includes('own id')) expect(await probe(caller, 'someone-else')).toBe('forbidden');
      });
    }
  }
});
