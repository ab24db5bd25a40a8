/**
 * `/openapi.json` against a real server (auth on, a static site served): it validates as OpenAPI 3.1
 * (`@readme/openapi-parser`), documents every route Fastify registered (the simulation's plugin routes too) (a route without `config.doc` fails here,
 * by name), and the roles it documents are the README's role x endpoint matrix (which role-matrix.test.ts checks
 * against real requests). `/docs` and its assets are served from node_modules, without a token.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FedServer } from '../../server.js';
import { simRoutes } from '../../sim/routes.js';
import { issueToken } from '../../auth.js';
import { startTestServer } from '../../testing/harness.js';
import { MATRIX_COLUMNS, readRoleMatrix, registeredRoutes } from '../../testing/routes.js';

/** Routes deliberately left out of the document, with the reason. Everything else must be documented. */
const UNDOCUMENTED: Record<string, string> = {
  'OPTIONS /api/*': 'the CORS preflight of every /api/* path (a wildcard: OpenAPI has no path for it)',
  'GET /*': 'the static site of --static (files, not an API)',
  'GET /docs/:asset': "the docs page's own script and style files",
  'GET /dashboard/assets/:file': "the dashboard's own modules, uPlot and its style",
};

type Operation = { operationId: string; security: unknown[]; parameters?: Array<{ name: string; in: string }>; responses: Record<string, { content?: Record<string, { schema: unknown }> }>; 'x-fedweb-role': { access: string; roles: string[]; ownId?: string }; 'x-fedweb-websocket'?: boolean };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> } };

let server: FedServer;
let cleanup: () => Promise<void>;
let site: string;
let doc: Doc;
const SECRET = 'a-test-secret-of-enough-length';

beforeAll(async () => {
  site = await mkdtemp(join(tmpdir(), 'fedweb-openapi-site-'));
  await writeFile(join(site, 'index.html'), '<!doctype html><title>site</title>');
  const t = await startTestServer({ secret: SECRET, logger: false, staticDir: site, plugins: [simRoutes({ clients: 2 })], seed: [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }] });
  server = t.server;
  cleanup = t.cleanup;
  const res = await fetch(`${server.url}/openapi.json`); // no token: the document is public
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Doc;
});
afterAll(async () => {
  await cleanup?.();
  await rm(site, { recursive: true, force: true });
});

/** Every documented operation as `METHOD /fastify/:path` (`WS /path` for WebSocket upgrades). */
function documented(): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const url = path.replace(/\{([^}]+)\}/g, ':$1');
      out.set(op['x-fedweb-websocket'] ? `WS ${url}` : `${method.toUpperCase()} ${url}`, op);
    }
  }
  return out;
}

describe('/openapi.json', () => {
  it('validates as OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    const errors = result.valid ? [] : result.errors;
    expect(errors, JSON.stringify(errors, null, 1)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.specification).toBe('OpenAPI');
    expect(result.warnings).toEqual([]);
  });

  it('documents every route Fastify registered, except the few listed here with a reason', () => {
    const routes = registeredRoutes(server.app);
    const docs = documented();
    const missing = [...routes].filter((r) => !docs.has(r) && !(r in UNDOCUMENTED));
    expect(missing, `routes without docs: add \`config: { doc }\` (a RouteDoc, http/openapi/route-doc.ts) where each is registered: ${missing.join(', ')}`).toEqual([]);
    const stale = [...docs.keys()].filter((r) => !routes.has(r));
    expect(stale, 'documented but not registered').toEqual([]);
    const unused = Object.keys(UNDOCUMENTED).filter((r) => {
      const [method, url] = r.split(' ') as [string, string];
      return !server.app.hasRoute({ method, url }) || docs.has(r);
    });
    expect(unused, 'UNDOCUMENTED entries that are not registered, or are documented after all').toEqual([]);
  });

  it("documents each route's roles as the README's role x endpoint matrix says", () => {
    const matrix = readRoleMatrix();
    for (const [route, op] of documented()) {
      const role = op['x-fedweb-role'];
      const isPublic = role.access === 'public';
      expect(op.security, `${route}: security`).toEqual(isPublic ? [] : [{ bearerAuth: [] }, { tokenQuery: [] }]);
      if (!isPublic) expect(Object.keys(op.responses), `${route}: 401`).toContain('401');
      const row = matrix.get(route);
      // The README: "Routes added by plugins (e.g. the simulation's /api/sim/*) need any valid token", without rows.
      if (!row && route.startsWith('GET /api/sim/')) {
        expect(role.access, route).toBe('token');
        continue;
      }
      expect(row, `${route} has no row in the README's matrix`).toBeDefined();
      for (const caller of MATRIX_COLUMNS) {
        const allowed = isPublic || (caller !== 'none' && role.roles.includes(caller));
        expect(row![caller].startsWith('✓'), `${route} as ${caller}`).toBe(allowed);
      }
      expect(MATRIX_COLUMNS.some((c) => row![c].includes('own id')), `${route}: ownId`).toBe(Boolean(role.ownId));
    }
    expect(doc.components.securitySchemes).toHaveProperty('bearerAuth', expect.objectContaining({ type: 'http', scheme: 'bearer' }));
  });

  it('names path parameters, request bodies, responses and error codes from the zod schemas', () => {
    const get = doc.paths['/api/sessions/{id}']!.get!;
    expect(get.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(get.responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/SessionDetail' });
    const notFound = JSON.stringify(get.responses['404']);
    expect(notFound).toContain('NOT_FOUND');
    expect(notFound).toContain('#/components/schemas/ApiError');
    const start = doc.paths['/api/sessions']!.post! as Operation & { requestBody: { content: Record<string, { schema: { $ref: string } }> } };
    expect(start.requestBody.content['application/json']!.schema.$ref).toBe('#/components/schemas/StartSession');
    const body = doc.components.schemas['StartSession'] as { properties: Record<string, { default?: unknown }> };
    expect(body.properties['rounds']).toMatchObject({ type: 'integer', default: 5 });
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409', '413', '415', 'default']));
    const clients = doc.paths['/api/clients']!.get!;
    expect(clients.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['query:limit', 'query:after']);
    expect(doc.paths['/api/models/{id}']!.get!.responses['200']!.content).toHaveProperty('application/octet-stream');
    // The simulation's handlers answer their own error body; the auth hook's 401 is still the API's.
    const sim = doc.paths['/api/sim/shard']!.get!;
    expect(sim.responses['400']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/GetApiSimShardError' });
    expect(JSON.stringify(sim.responses['401'])).toContain('#/components/schemas/ApiError');
    // A token may go in the query; the security scheme says so, not a parameter of every operation.
    expect(doc.components.securitySchemes).toHaveProperty('tokenQuery', expect.objectContaining({ in: 'query', name: 'token' }));
  });
});

describe('documented responses', () => {
  it('accept what the server really answers (JSON Schema 2020-12, Ajv)', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    // The operation's schema, with the document's components beside it so its `#/components/...` refs resolve.
    const compile = (id: string, schema: unknown) => ajv.compile({ $id: id, components: doc.components, allOf: [schema] });
    const admin = await issueToken({ secret: SECRET, role: 'admin', sub: 'root' });
    const session = await (await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ rounds: 1 }) })).json();
    expect(session).toHaveProperty('session.id');
    const pkg = (await (await fetch(`${server.url}/api/packages/active`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { package: { sha256: string } };
    const calls: Array<[string, string, number]> = [
      ['/api/status', '/api/status', 200],
      ['/api/sessions', '/api/sessions', 200],
      [`/api/sessions/${(session as { session: { id: string } }).session.id}`, '/api/sessions/{id}', 200],
      ['/api/sessions/nope', '/api/sessions/{id}', 404],
      ['/api/models', '/api/models', 200],
      ['/api/clients?limit=5', '/api/clients', 200],
      ['/api/combiners', '/api/combiners', 200],
      ['/api/packages/active', '/api/packages/active', 200],
      [`/api/packages/${pkg.package.sha256}/manifest`, '/api/packages/{sha256}/manifest', 200],
      ['/healthz', '/healthz', 200],
      ['/.well-known/jwks.json', '/.well-known/jwks.json', 200],
      ['/api/sim/info', '/api/sim/info', 200],
      ['/api/sim/shard', '/api/sim/shard', 400],
    ];
    for (const [url, path, status] of calls) {
      const res = await fetch(`${server.url}${url}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status, url).toBe(status);
      const schema = doc.paths[path]!.get!.responses[String(status)]!.content!['application/json']!.schema;
      const check = compile(`check:${url}`, schema);
      expect(check(await res.json()), `${url}: ${ajv.errorsText(check.errors)}`).toBe(true);
    }
    // And the check can fail: a body of the wrong shape is refused.
    const wrong = compile('wrong', doc.paths['/api/status']!.get!.responses['200']!.content!['application/json']!.schema);
    expect(wrong({ kind: 'status' })).toBe(false);
  });
});

describe('/docs', () => {
  it('serves the page and its assets without a token, from node_modules', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const asset of ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js']) {
      expect(html).toContain(`/docs/${asset}`);
      const res = await fetch(`${server.url}/docs/${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('content-type')).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(asset === 'init.js' ? 50 : 10_000);
    }
    expect(await (await fetch(`${server.url}/docs/init.js`)).text()).toContain("url: '/openapi.json'");
    const missing = await fetch(`${server.url}/docs/package.json`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: 'error', code: 'NOT_FOUND' });
  });
});
