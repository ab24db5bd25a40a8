/**
 * What tests read about a server's routes: every route Fastify registered (from `printRoutes`), and the README's
 * role x endpoint matrix. Shared by `http/role-matrix.test.ts` and `http/openapi/openapi.test.ts`.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** The matrix's columns: the five roles, then a request without a token. */
export const MATRIX_COLUMNS = ['admin', 'operator', 'viewer', 'combiner', 'client', 'none'] as const;
export type MatrixCaller = (typeof MATRIX_COLUMNS)[number];

/**
 * Every route the app registered, as `METHOD /path` (`WS /path` for `/ws/*` upgrades), HEAD and OPTIONS left out.
 * `printRoutes` prints a wildcard under a path without routes of its own as a bare `*`: it reads as `/*`.
 * @example
 * ```ts
 * registeredRoutes(server.app) // Set { 'GET /api/status', 'POST /api/sessions', 'WS /ws/client', ... }
 * ```
 */
export function registeredRoutes(app: FastifyInstance): Set<string> {
  const tree = app.printRoutes({ commonPrefix: false });
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+) \(([^)]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack[depth] = m[2]!;
    const joined = stack.slice(0, depth + 1).join('');
    const path = joined.startsWith('/') ? joined : `/${joined}`;
    for (const method of m[3]!.split(', ')) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.add(path.startsWith('/ws/') ? `WS ${path}` : `${method} ${path}`);
    }
  }
  return routes;
}

/**
 * The root README's role x endpoint matrix: endpoint -> caller -> cell text (`✓`, `✓ (own id)`, `✗`, `401`).
 * @example
 * ```ts
 * readRoleMatrix().get('GET /api/sessions')?.viewer // '✓'
 * ```
 */
export function readRoleMatrix(): Map<string, Record<MatrixCaller, string>> {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Threat model: principals, roles and tokens');
  if (start < 0) throw new Error('the README has no "Threat model: principals, roles and tokens" section');
  const rest = readme.slice(start + 10);
  const end = rest.search(/\n##+ /);
  const rows = new Map<string, Record<MatrixCaller, string>>();
  for (const line of (end < 0 ? rest : rest.slice(0, end)).split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const cells = m[2]!.split('|').map((c) => c.trim());
    if (cells.length !== MATRIX_COLUMNS.length) throw new Error(`README matrix row '${m[1]}' has ${cells.length} cells`);
    rows.set(m[1]!, Object.fromEntries(MATRIX_COLUMNS.map((c, i) => [c, cells[i]!])) as Record<MatrixCaller, string>);
  }
  return rows;
}
