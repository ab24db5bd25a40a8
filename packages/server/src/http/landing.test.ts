import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../testing/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the landing page', () => {
  it('a bare server (no --static) explains itself at / with links to the dashboard, the API and how clients connect', async () => {
    const t = await startTestServer({ secret: 'a-test-secret-of-enough-length' });
    cleanups.push(t.cleanup);
    const res = await fetch(`${t.server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('fedweb server');
    expect(html).toContain('href="/dashboard"');
    expect(html).toContain('href="/api/status"');
    expect(html).toContain('href="/docs"');
    expect(html).toContain('new FedClient');
    expect(html).toContain('/dashboard#token=');
    expect(html).not.toContain('Auth is off');
    expect(html).not.toContain('href="/">The demo');
    expect((await fetch(`${t.server.url}/about`)).status).toBe(200);
  });

  it('with a static site, / is the site and /about the landing page, linking to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedweb-static-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>the demo</title>');
    const t = await startTestServer({ staticDir: dir });
    cleanups.push(t.cleanup);
    expect(await (await fetch(`${t.server.url}/`)).text()).toContain('the demo');
    const about = await (await fetch(`${t.server.url}/about`)).text();
    expect(about).toContain('href="/">The demo');
    expect(about).toContain('Auth is off');
  });
});
