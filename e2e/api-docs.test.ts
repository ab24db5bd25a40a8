/**
 * The API reference at `/docs` in real headless Chromium, offline: the page, Swagger UI's script and style and
 * `/openapi.json` all come from the test's server on 127.0.0.1 (every request the browser makes is checked, and
 * host resolution for anything else is switched off). The page lists the routes by path and summary, and an
 * operation shows its required role. Screenshot: e2e/artifacts/api-docs.png.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type FedServer } from '@fedweb/server';
import { launchChromium, type LaunchedBrowser } from './lib/browser.js';
import { ROOT } from './lib/prepare.js';

const ARTIFACTS = join(ROOT, 'e2e/artifacts');

describe('the API reference page (/docs)', () => {
  let server: FedServer;
  let dataDir: string;
  let browser: LaunchedBrowser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'fedweb-api-docs-'));
    server = await startServer({ dataDir, port: 0, host: '127.0.0.1', secret: 'a-test-secret-of-enough-length', logLevel: 'warn' });
    // Nothing but 127.0.0.1 resolves: a request to anywhere else would fail, and is also caught below.
    browser = await launchChromium({ extraArgs: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('loads offline from this server alone, lists the routes and shows the role an operation requires', async () => {
    const page = await browser.context.newPage();
    const requests: string[] = [];
    const failed: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
    page.on('pageerror', (e) => pageErrors.push(e.message));

    const res = await page.goto(`${server.url}/docs`);
    expect(res?.status()).toBe(200);
    await page.locator('.opblock').first().waitFor({ timeout: 60_000 });
    const text = await page.locator('#swagger-ui').innerText();
    for (const path of ['/api/sessions', '/api/sessions/{id}/pause', '/api/models/{id}', '/api/discover', '/api/tokens', '/ws/client', '/openapi.json']) expect(text).toContain(path);
    for (const summary of ['Start a session', 'The model trail', 'Issue a token']) expect(text).toContain(summary);
    expect(text).toContain('fedweb controller API');

    // Open "Start a session": its description names the roles, its responses the error codes.
    await page.locator('.opblock-post', { hasText: 'Start a session' }).locator('.opblock-summary').first().click();
    const op = page.locator('.opblock-post.is-open', { hasText: 'Start a session' });
    await op.getByText('whose role grants').waitFor({ timeout: 30_000 });
    const opText = await op.innerText();
    expect(opText).toMatch(/role grants\s+operate\s*: admin, operator\./);
    expect(opText).toContain('CONFLICT');

    await page.screenshot({ path: join(ARTIFACTS, 'api-docs.png'), fullPage: true });
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
    expect(foreign, 'requests that left 127.0.0.1').toEqual([]);
    expect(requests).toEqual(expect.arrayContaining([`${origin}/docs`, `${origin}/docs/swagger-ui-bundle.js`, `${origin}/docs/swagger-ui.css`, `${origin}/openapi.json`]));
    expect(failed).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
