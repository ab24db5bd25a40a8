/**
 * The Dockerfile (parsed with dockerfile-ast; no Docker daemon here) and the health check it runs
 * (packages/server/bin/healthcheck.mjs, run for real against servers with auth off and on).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser } from 'dockerfile-ast';
import { afterAll, describe, expect, it } from 'vitest';
import { issueToken } from '../packages/server/src/auth.js';
import { startTestServer } from '../packages/server/src/testing/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HEALTHCHECK = join(ROOT, 'packages/server/bin/healthcheck.mjs');
const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();
const lastFrom = Math.max(...instructions.map((x, i) => (x.getKeyword() === 'FROM' ? i : -1)));
const runtime = instructions.slice(lastFrom);
/** The arguments of each `keyword` instruction, flags included (`--from=deps ...`). */
const args = (keyword: string, from = instructions): string[] => from.filter((x) => x.getKeyword() === keyword).map((x) => x.getTextContent().replace(/^\s*\S+\s+/, ''));

describe('Dockerfile', () => {
  it('is multi-stage: dependencies built in one stage, copied into a runtime stage', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const deps = froms[0]!.getBuildStage();
    expect(deps).toBeTruthy();
    expect(args('COPY', runtime).some((a) => a.includes(`--from=${deps}`) && a.includes('node_modules'))).toBe(true);
  });

  it('installs production dependencies from the lockfile (npm ci --omit=dev)', () => {
    expect(args('RUN').some((a) => /\bnpm ci\b/.test(a) && a.includes('--omit=dev'))).toBe(true);
  });

  it('runs as a non-root user, with a health check on /api/status and the fedweb CLI as entrypoint', () => {
    const users = args('USER', runtime);
    expect(users).toHaveLength(1);
    expect(['root', '0']).not.toContain(users[0]!.split(':')[0]);
    const health = args('HEALTHCHECK', runtime);
    expect(health).toHaveLength(1);
    expect(health[0]).toContain('packages/server/bin/healthcheck.mjs');
    expect(readFileSync(HEALTHCHECK, 'utf8')).toContain("'http://127.0.0.1:8080/api/status'");
    expect(args('ENTRYPOINT', runtime)[0]).toContain('packages/server/bin/fedweb.mjs');
    expect(args('CMD', runtime)[0]).toContain('"0.0.0.0"');
  });

  it('copies only paths that exist', () => {
    for (const a of args('COPY').filter((x) => !x.includes('--from='))) {
      const parts = a.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
  });
});

describe('healthcheck.mjs', () => {
  const servers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of servers) await close();
  });
  const check = (url: string, token?: string): Promise<number> =>
    promisify(execFile)(process.execPath, [HEALTHCHECK], { env: { ...process.env, FEDWEB_HEALTH_URL: url, FEDWEB_HEALTH_TOKEN: token ?? '' }, timeout: 20_000 }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );

  it('exits 0 when /api/status answers, 1 when nothing listens or a token is refused', async () => {
    const open = await startTestServer({});
    servers.push(open.cleanup);
    expect(await check(`${open.server.url}/api/status`)).toBe(0);

    const secret = 'healthcheck-test-secret-0123456789';
    const authed = await startTestServer({ secret });
    servers.push(authed.cleanup);
    // Auth on, no token: a 401 means the server answers.
    expect(await check(`${authed.server.url}/api/status`)).toBe(0);
    expect(await check(`${authed.server.url}/api/status`, await issueToken({ secret, role: 'viewer', sub: 'probe', expiresIn: '1h' }))).toBe(0);
    expect(await check(`${authed.server.url}/api/status`, 'not-a-token')).toBe(1);

    const port = new URL(open.server.url).port;
    await open.cleanup();
    servers.shift();
    expect(await check(`http://127.0.0.1:${port}/api/status`)).toBe(1);
  });
});
