/**
 * Static files never leak state: dotfiles and dot-folders (the data dir `.fedweb`, `.git`, `.env`) are 404, a data
 * dir inside the static root is refused at start, and traversal attempts (raw `../`, `%2e%2e`, `%2f`) are 404, never
 * a 500 or a file outside the root. Real sockets; paths are sent byte for byte (fetch would normalise `../`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { startServer, type FedServer } from '../server.js';
import { tempDir } from '../testing/harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A GET with the path exactly as given (no URL normalisation). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A site folder with an index, a secret-looking dot folder and dotfiles, next to a file outside the root. */
async function site(): Promise<{ root: string; base: string }> {
  const t = await tempDir('fedweb-static-');
  cleanups.push(t.cleanup);
  const root = join(t.dir, 'site');
  await mkdir(join(root, '.fedweb', 'blobs'), { recursive: true });
  await mkdir(join(root, 'sub', '.hidden'), { recursive: true });
  await mkdir(join(root, '.git'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<h1>site</h1>');
  await writeFile(join(root, 'sub', 'page.html'), 'page');
  await writeFile(join(root, '.fedweb', 'state.db'), 'SQLite format 3 SECRET');
  await writeFile(join(root, '.env'), 'FEDWEB_SECRET=SECRET');
  await writeFile(join(root, '.git', 'config'), 'SECRET');
  await writeFile(join(root, 'sub', '.hidden', 'x.txt'), 'SECRET');
  await writeFile(join(t.dir, 'outside.txt'), 'SECRET');
  return { root, base: t.dir };
}

async function serve(staticDir: string, dataDir: string): Promise<FedServer> {
  const server = await startServer({ dataDir, staticDir, port: 0, logger: false });
  cleanups.push(() => server.close());
  return server;
}

describe('static site', () => {
  test('a data dir inside the static root is refused at start (BAD_CONFIG naming both), also through a dot folder', async () => {
    const { root } = await site();
    for (const dataDir of [join(root, '.fedweb'), join(root, 'data'), root]) {
      const err = await startServer({ dataDir, staticDir: root, port: 0, logger: false }).then(
        async (s) => {
          await s.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(isFedError(err, 'BAD_CONFIG'), `dataDir ${dataDir}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toContain('static');
    }
  });

  test('dotfiles, dot folders and traversal attempts are 404; the site itself is served', async () => {
    const { root, base } = await site();
    const server = await serve(root, join(base, 'data'));
    expect(await rawGet(server.url, '/index.html')).toMatchObject({ status: 200, body: '<h1>site</h1>' });
    expect((await rawGet(server.url, '/')).status).toBe(200);
    expect(await rawGet(server.url, '/sub/page.html')).toMatchObject({ status: 200, body: 'page' });
    const probes = [
      '/.fedweb/state.db',
      '/.fedweb/',
      '/.fedweb',
      '/%2efedweb/state.db',
      '/.env',
      '/.git/config',
      '/sub/.hidden/x.txt',
      '/sub/%2Ehidden/x.txt',
      '/../outside.txt',
      '/%2e%2e/outside.txt',
      '/%2E%2E/outside.txt',
      '/%2e%2e/',
      '/..%2foutside.txt',
      '/%2e%2e%2foutside.txt',
      '/sub/..%2f..%2foutside.txt',
      '/sub/%2e%2e/%2e%2e/outside.txt',
      '/..%5coutside.txt',
      '/%252e%252e/outside.txt',
      '/sub/../.env',
      '/index.html%00.txt',
    ];
    const seen: Record<string, number> = {};
    for (const p of probes) {
      const r = await rawGet(server.url, p);
      seen[p] = r.status;
      expect(r.body, p).not.toContain('SECRET');
    }
    expect(seen).toEqual(Object.fromEntries(probes.map((p) => [p, 404])));
    // A malformed encoding (overlong UTF-8 dots) is the router's 400 (bad URL), never a file or a 500.
    const bad = await rawGet(server.url, '/%c0%ae%c0%ae/outside.txt');
    expect(bad.status).toBe(400);
    expect(bad.body).not.toContain('SECRET');
  });
});
