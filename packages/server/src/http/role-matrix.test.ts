/**
 * The role x endpoint matrix of the root README ("Threat model: principals, roles and tokens"), checked cell by
 * cell over real HTTP and WebSockets against a server with auth on; and the table lists every route the server
 * registers (a new route without a row fails here).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { issueToken, type Role } from '../auth.js';
import type { FedServer } from '../server.js';
import { startTestServer, until } from '../testing/harness.js';

const SECRET = 'a-test-secret-of-enough-length';
const COLUMNS = ['admin', 'operator', 'viewer', 'combiner', 'client', 'none'] as const;
type Caller = (typeof COLUMNS)[number];
type Outcome = 'allowed' | 'forbidden' | 'unauthorized';
const SUB: Record<Caller, string> = { admin: 'root', operator: 'ops', viewer: 'eyes', combiner: 'c-matrix', client: 'kiosk-1', none: 'anon-1' };

/** The README's matrix: endpoint -> caller -> cell text. */
function readMatrix(): Map<string, Record<Caller, string>> {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Threat model: principals, roles and tokens');
  if (start < 0) throw new Error('the README has no "Threat model: principals, roles and tokens" section');
  const rest = readme.slice(start + 10);
  const end = rest.search(/\n##+ /);
  const rows = new Map<string, Record<Caller, string>>();
  for (const line of (end < 0 ? rest : rest.slice(0, end)).split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const cells = m[2]!.split('|').map((c) => c.trim());
    if (cells.length !== COLUMNS.length) throw new Error(`README matrix row '${m[1]}' has ${cells.length} cells`);
    rows.set(m[1]!, Object.fromEntries(COLUMNS.map((c, i) => [c, cells[i]!])) as Record<Caller, string>);
  }
  return rows;
}

const expected = (cell: string): Outcome => (cell.startsWith('✓') ? 'allowed' : cell === '✗' ? 'forbidden' : cell === '401' ? 'unauthorized' : (() => { throw new Error(`unknown matrix cell '${cell}'`); })());
const ofStatus = (status: number): Outcome => (status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'allowed');
const ofCode = (code: string | undefined): Outcome => (code === 'UNAUTHORIZED' ? 'unauthorized' : code === 'FORBIDDEN' ? 'forbidden' : 'allowed');

const MATRIX = readMatrix();
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
  'GET /healthz': (c) => http('GET', '/healthz', c),
  'GET /api/status': (c) => http('GET', '/api/status', c),
  'POST /api/discover': (c, id) => http('POST', '/api/discover', c, { clientId: id }),
  'GET /api/clients': (c) => http('GET', '/api/clients', c),
  'GET /api/combiners': (c) => http('GET', '/api/combiners', c),
  'GET /api/sessions': (c) => http('GET', '/api/sessions', c),
  'GET /api/sessions/:id': (c) => http('GET', '/api/sessions/no-such-session', c),
  'POST /api/sessions': (c) => http('POST', '/api/sessions', c, { rounds: 0 }),
  'POST /api/sessions/:id/pause': (c) => http('POST', '/api/sessions/no-such-session/pause', c, {}),
  'POST /api/sessions/:id/resume': (c) => http('POST', '/api/sessions/no-such-session/resume', c, {}),
  'POST /api/sessions/:id/stop': (c) => http('POST', '/api/sessions/no-such-session/stop', c, {}),
  'GET /api/models': (c) => http('GET', '/api/models', c),
  'GET /api/models/:id': (c) => http('GET', '/api/models/no-such-model', c),
  'GET /api/blobs/:sha256': (c) => http('GET', `/api/blobs/${'0'.repeat(64)}`, c),
  'POST /api/packages': (c) => http('POST', '/api/packages', c, {}),
  'GET /api/packages/active': (c) => http('GET', '/api/packages/active', c),
  'GET /api/packages/:sha256': (c) => http('GET', `/api/packages/${pkgSha}`, c),
  'GET /api/packages/:sha256/manifest': (c) => http('GET', `/api/packages/${pkgSha}/manifest`, c),
  'POST /api/tokens': (c) => http('POST', '/api/tokens', c, { role: 'viewer', sub: 'someone', ttl: '1h' }),
  'WS /ws/combiner': (c, id) => ws('/ws/combiner', c, combinerHello, id, (x) => !!server.registry.get(x)),
  'WS /ws/client': (c, id) => ws('/ws/client', c, clientHello, id),
};

describe('role x endpoint matrix (README)', () => {
  it('the README table has a row for every route the server registers, and a probe for every row', () => {
    const tree = server.app.printRoutes({ commonPrefix: false });
    const routes = new Set<string>();
    const stack: string[] = [];
    for (const line of tree.split('\n')) {
      const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+) \(([^)]+)\)$/.exec(line);
      if (!m) continue;
      const depth = m[1]!.length / 4;
      stack[depth] = m[2]!;
      const path = stack.slice(0, depth + 1).join('');
      for (const method of m[3]!.split(', ')) {
        if (method === 'HEAD' || method === 'OPTIONS') continue;
        routes.add(path.startsWith('/ws/') ? `WS ${path}` : `${method} ${path}`);
      }
    }
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
