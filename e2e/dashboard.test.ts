/**
 * The live dashboard (`/dashboard`) in real headless Chromium against a server with auth on: an operator tab and a
 * viewer tab watch a session of three Node clients in which round 2 fails (a client ignores its task). Both tabs
 * update without a reload as rounds end (the test waits on DOM changes): the rounds table and the charts grow, the
 * failed round is marked with the server's reason, the fleet table has a row per client, the trail shows the models.
 * The operator's controls start, pause, resume and stop a session; the viewer's are hidden and disabled, and it has
 * no rollback button. Screenshots: e2e/artifacts/dashboard-operator.png, dashboard-viewer.png.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { issueToken, startServer, type FedServer } from '@fedweb/server';
import { makeTestPackage, TestClient } from '@fedweb/server/testing';
import { launchChromium, type LaunchedBrowser } from './lib/browser.js';
import { ROOT } from './lib/prepare.js';

const ARTIFACTS = join(ROOT, 'e2e/artifacts');
const SECRET = 'a-dashboard-test-secret-of-enough-length';
const PARAMS = 4096;
const IDS = ['kiosk-a', 'kiosk-b', 'kiosk-c'];

/** What a tab shows, read from its DOM. */
function view(page: Page) {
  return page.evaluate(() => {
    const q = (s: string) => [...document.querySelectorAll(s)];
    const canvasInk = (id: string) => {
      const c = document.querySelector(`#${id} canvas`) as HTMLCanvasElement | null;
      if (!c || c.width === 0) return 0;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) ink++;
      return ink;
    };
    const plot = (id: string) => ({ points: (document.getElementById(id) as HTMLElement).dataset.points, series: (document.getElementById(id) as HTMLElement).dataset.series, ink: canvasInk(id) });
    return {
      conn: document.getElementById('conn')!.textContent,
      status: document.querySelector('#session b')?.getAttribute('data-status') ?? null,
      rounds: q('#rounds tbody tr').map((tr) => ({ round: tr.getAttribute('data-round'), failed: tr.classList.contains('failed'), text: tr.textContent ?? '' })),
      fleet: q('#fleet tbody tr').map((tr) => tr.getAttribute('data-client-id')),
      fleetText: q('#fleet tbody tr').map((tr) => tr.textContent ?? ''),
      trail: q('#trail li').length,
      rollbacks: q('#trail button[data-action="rollback"]').length,
      downloads: q('#trail button[data-action="download"]').length,
      controls: ['start', 'pause', 'resume', 'stop'].map((id) => {
        const b = document.getElementById(id) as HTMLButtonElement;
        return { id, disabled: b.disabled, visible: b.offsetParent !== null };
      }),
      quality: plot('chart-quality'),
      updates: plot('chart-updates'),
      bytes: plot('chart-bytes'),
      url: location.href,
    };
  });
}

const roundShown = (page: Page, round: number, failed: boolean) =>
  page.waitForFunction(([r, f]) => [...document.querySelectorAll('#rounds tbody tr')].some((tr) => tr.getAttribute('data-round') === String(r) && tr.classList.contains('failed') === f), [round, failed] as const, { timeout: 60_000 });
const statusShown = (page: Page, status: string) => page.waitForFunction((s) => document.querySelector('#session b')?.getAttribute('data-status') === s, status, { timeout: 60_000 });

describe('the live dashboard, auth on', () => {
  let server: FedServer;
  let dir: string;
  let browser: LaunchedBrowser;
  const clients: TestClient[] = [];
  let operator: Page;
  let viewer: Page;
  let operatorToken = '';
  let pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'fedweb-dash-'));
    server = await startServer({ dataDir: dir, port: 0, secret: SECRET, logger: false, waitPollMs: 100, partialGraceMs: 500 });
    await server.controller.uploadPackage(await makeTestPackage({ tensors: [{ name: 'w', shape: [PARAMS], data: new Float32Array(PARAMS).fill(0.5) }] }));
    let validations = 0;
    for (const [i, clientId] of IDS.entries()) {
      clients.push(
        await TestClient.connect({
          baseUrl: server.url,
          clientId,
          token: await issueToken({ secret: SECRET, role: 'client', sub: clientId }),
          capabilities: { platform: 'node', backend: i === 0 ? 'webgpu' : 'wasm', battery: { level: 0.8 - i * 0.2, charging: i === 1 }, connection: { type: i === 2 ? 'cellular' : 'wifi' } },
          // In round 2 of the first session kiosk-c sends an update far above the norm bound: it is refused
          // (NORM_EXCEEDED) and the round fails (every client must deliver).
          onTrain: (task) => {
            const scale = clientId === 'kiosk-c' && task.roundId.startsWith('dash-1.r2.') ? 100 : 0.01 * (i + 1);
            return { delta: Float32Array.from({ length: PARAMS }, (_, k) => scale * Math.sin(k * (i + 1) + task.roundId.length)), numExamples: 10 + i };
          },
          onValidate: () => ({ numExamples: 10, metrics: { accuracy: Math.min(0.95, 0.5 + 0.05 * ++validations), loss: 2 / (1 + validations) } }),
        }),
      );
    }
    operatorToken = await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' });
    const viewerToken = await issueToken({ secret: SECRET, role: 'viewer', sub: 'eyes' });
    browser = await launchChromium();
    operator = await browser.context.newPage();
    viewer = await browser.context.newPage();
    const errors: string[] = [];
    for (const p of [operator, viewer]) p.on('pageerror', (e) => errors.push(e.message));
    pageErrors = errors;
    await operator.setViewportSize({ width: 1280, height: 1400 });
    await viewer.setViewportSize({ width: 1280, height: 1400 });
    await operator.goto(`${server.url}/dashboard#token=${operatorToken}`);
    await viewer.goto(`${server.url}/dashboard#token=${viewerToken}`);
  });

  afterAll(async () => {
    await browser?.close();
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the fleet live, and both tabs follow a session round by round without a reload', async () => {
    for (const page of [operator, viewer]) {
      await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live' && document.querySelectorAll('#fleet tbody tr').length === 3 && document.querySelectorAll('#trail li').length === 1, undefined, { timeout: 30_000 });
      const v = await view(page);
      expect(v.url).not.toContain('token'); // the fragment is taken off the address bar
      expect(v.fleet.sort()).toEqual(IDS);
      expect(v.fleetText.join('\n')).toMatch(/kiosk-a\s*online\s*embedded\s*webgpu\s*80%\s*wifi/);
      expect(v.fleetText.join('\n')).toMatch(/kiosk-c.*cellular/);
      expect(v.trail).toBe(1); // the seed model
    }
    const before = await view(viewer);
    expect(before.rounds).toEqual([]);

    const res = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'dash-1', name: 'dashboard e2e', rounds: 3, clientsRequired: 3, validity: { minCombiners: 1, minTotalUpdates: 3 }, validate: true, roundTimeoutMs: 4000, validateTimeoutMs: 4000, encoding: 'int8' }),
    });
    expect(res.status).toBe(201);
    // Round 1 commits: both tabs show it (the page was loaded before the session existed).
    for (const page of [operator, viewer]) await roundShown(page, 1, false);
    // Round 2 fails (kiosk-c's update is refused): marked, with the server's reason.
    for (const page of [operator, viewer]) await roundShown(page, 2, true);
    for (const page of [operator, viewer]) await roundShown(page, 3, false);
    for (const page of [operator, viewer]) await statusShown(page, 'completed');
    const rounds = (await server.controller.getSession('dash-1')).rounds.sort((a, b) => a.round - b.round);
    expect(rounds.map((r) => r.status)).toEqual(['committed', 'failed', 'committed']);

    for (const page of [operator, viewer]) {
      const v = await view(page);
      const failed = v.rounds.find((r) => r.round === '2')!;
      expect(failed.failed).toBe(true);
      expect(failed.text).toContain(rounds[1]!.reason!.slice(0, 40));
      expect(v.quality.points).toBe('3');
      expect(v.quality.ink).toBeGreaterThan(500);
      expect(v.updates.series).toBe('counted,refused NORM_EXCEEDED');
      expect(failed.text).toContain('NORM_EXCEEDED 1');
      expect(v.bytes.ink).toBeGreaterThan(500);
      expect(v.trail).toBe(3); // seed + 2 committed rounds
      expect(v.downloads).toBe(3);
    }
    // The bytes chart's ledger: int8 updates came in smaller than their float32 size.
    const ledger = await operator.evaluate(() => [...(window as unknown as { __dashboard: { ledger: Map<string, { bytesIn: number; f32In: number; updates: number }> } }).__dashboard.ledger.values()]);
    const first = ledger.find((r) => r.updates === 3)!;
    expect(first.bytesIn).toBeGreaterThan(0);
    expect(first.bytesIn).toBeLessThan(first.f32In / 2);

    const op = await view(operator);
    const vw = await view(viewer);
    expect(op.controls.find((c) => c.id === 'start')).toEqual({ id: 'start', disabled: false, visible: true });
    expect(op.rollbacks).toBe(2); // the session's two models; the seed belongs to no session
    for (const c of vw.controls) expect(c).toMatchObject({ disabled: true, visible: false });
    expect(vw.rollbacks).toBe(0);
    expect(await viewer.locator('#readonly-note').isVisible()).toBe(true);
    expect(await operator.locator('#readonly-note').isVisible()).toBe(false);
    await operator.screenshot({ path: join(ARTIFACTS, 'dashboard-operator.png'), fullPage: true });
    await viewer.screenshot({ path: join(ARTIFACTS, 'dashboard-viewer.png'), fullPage: true });
  });

  it("the operator's controls start, pause, resume and stop a session; the viewer's tab follows", async () => {
    await operator.fill('#start-config', '{"name": "from the dashboard", "clientsRequired": 3');
    await operator.click('#start');
    await operator.waitForFunction(() => (document.getElementById('error')?.textContent ?? '').includes('config is not JSON'));
    await operator.fill('#start-config', '{"name": "from the dashboard", "clientsRequired": 3}');
    await operator.fill('#start-rounds', '1000');
    await operator.click('#start');
    await statusShown(operator, 'running');
    await statusShown(viewer, 'running');
    await operator.click('#pause');
    await statusShown(operator, 'paused');
    await statusShown(viewer, 'paused');
    await operator.click('#resume');
    await statusShown(operator, 'running');
    await operator.click('#stop');
    await statusShown(operator, 'stopped');
    await statusShown(viewer, 'stopped');
    const sessions = await server.controller.listSessions();
    expect(sessions.map((s) => s.status).sort()).toEqual(['completed', 'stopped']);
    const started = sessions.find((s) => s.status === 'stopped')!;
    expect([started.name, started.config.rounds, started.config.clientsRequired]).toEqual(['from the dashboard', 1000, 3]);
    expect(await operator.locator('#error').textContent()).toBe('');
    expect(pageErrors).toEqual([]);
  });

  it('filters the fleet table and pages it with the API cursor', async () => {
    const ids = () => viewer.evaluate(() => [...document.querySelectorAll('#fleet tbody tr')].map((tr) => tr.getAttribute('data-client-id')));
    await viewer.fill('#fleet-q', 'cellular');
    expect(await ids()).toEqual(['kiosk-c']);
    await viewer.fill('#fleet-q', '');
    await viewer.selectOption('#fleet-online', 'offline');
    expect(await ids()).toEqual([]);
    await viewer.selectOption('#fleet-online', 'all');
    // Pages of two (a size the page does not offer, added here to page three clients).
    await viewer.evaluate(() => document.getElementById('fleet-size')!.append(new Option('2', '2')));
    await viewer.selectOption('#fleet-size', '2');
    await viewer.waitForFunction(() => document.querySelectorAll('#fleet tbody tr').length === 2);
    expect(await ids()).toEqual(['kiosk-a', 'kiosk-b']);
    await viewer.click('#fleet-next');
    await viewer.waitForFunction(() => document.querySelector('#fleet tbody tr')?.getAttribute('data-client-id') === 'kiosk-c');
    expect(await ids()).toEqual(['kiosk-c']);
    expect(await viewer.locator('#fleet-next').isDisabled()).toBe(true);
    await viewer.click('#fleet-prev');
    await viewer.waitForFunction(() => document.querySelector('#fleet tbody tr')?.getAttribute('data-client-id') === 'kiosk-a');
    expect(pageErrors).toEqual([]);
  });
});
