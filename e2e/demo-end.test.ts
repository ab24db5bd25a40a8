/**
 * What a newcomer sees at the end of a session, in real headless Chromium tabs of the demo page against a real
 * server: a round that fails because a tab was closed mid-round is marked on the chart and in the round log with
 * the server's reason; the finished session says so ("Session finished: 3 rounds (1 failed), final accuracy …"),
 * also after a reload (the page rebuilds it from the REST API), and offers to start a new session (auth off).
 * The probe table shows each backend's mean and 95% interval, and the console has no tfjs stack trace.
 * Model: the MNIST MLP on WASM (fast on two cores); 2 shards of 3,500 digits (the 7,000-digit training split).
 * Screenshots: e2e/artifacts/demo-failed-round.png, demo-finished.png, demo-finished-reloaded.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, type LaunchedBrowser } from './lib/browser.js';
import { waitFor } from './lib/net.js';
import { ROOT } from './lib/prepare.js';
import { openTab, startSimEnv, tabState, type DemoState, type SimEnv } from './lib/sim-env.js';

const ARTIFACTS = join(ROOT, 'e2e/artifacts');

describe('the demo page at the end of a session, with a failed round', () => {
  let env: SimEnv;
  let browser: LaunchedBrowser;
  let page: Page;
  const consoleLines: string[] = [];
  let sessionId = '';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    env = await startSimEnv({ model: 'mlp', split: 'iid', seed: 42, shards: 2, combiners: 1 });
    browser = await launchChromium();
    const log = (l: string) => consoleLines.push(l);
    // Tab A probes every backend (the probe table); tab B goes straight to WASM.
    page = await openTab(browser.context, env.url, 'e2e-end-a', { backend: 'auto', validation: 300, onConsole: log });
    await openTab(browser.context, env.url, 'e2e-end-b', { backend: 'wasm', validation: 300, onConsole: log });
    await env.waitForClients(2, 60_000);
  });

  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  it('runs 3 rounds, the second failing when a tab closes mid-round; the page marks it with the reason', async () => {
    // Both tabs must deliver (minTotalUpdates 2): a tab that leaves mid-round fails the round.
    const s = await env.startSession({ name: 'e2e end', rounds: 3, clientsRequired: 2, validity: { minCombiners: 1, minTotalUpdates: 2 }, localEpochs: 2, batchSize: 32, learningRate: 0.1, validate: true, roundTimeoutMs: 60_000, validateTimeoutMs: 60_000 });
    sessionId = s.id;
    const tabB = browser.context.pages().find((p) => p.url().includes('client=e2e-end-b'));
    if (!tabB) throw new Error('tab B missing');
    await tabB.waitForFunction(() => {
      const st = (window as unknown as { __fedweb: DemoState }).__fedweb;
      return st.status === 'training' && (st.lastRoundId ?? '').includes('.r2.');
    }, undefined, { timeout: 120_000 });
    await tabB.close();
    const failed = await waitFor(async () => (await env.rounds(s.id)).find((r) => r.round === 2 && r.status === 'failed'), { timeoutMs: 90_000, what: 'round 2 to fail' });
    expect(failed.reason).toMatch(/invalid round/);
    // The page shows the failed round in its log, with the server's reason, and keeps the trail's gap.
    await page.waitForFunction(() => (window as unknown as { __fedweb: DemoState }).__fedweb.trail.some((p) => p.round === 2 && p.failed), undefined, { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-failed-round.png'), fullPage: true });
    // Another tab joins (a new client): round 3 runs and the session completes.
    await openTab(browser.context, env.url, 'e2e-end-c', { backend: 'wasm', validation: 300 });
    const done = await env.server.controller.waitForSession(s.id, ['completed', 'stopped', 'failed'], 180_000);
    expect(done.status).toBe('completed');
    expect((await env.rounds(s.id)).sort((a, b) => a.round - b.round).map((r) => r.status)).toEqual(['committed', 'failed', 'committed']);
  });

  const finishedView = async (p: Page) => {
    await p.waitForFunction(() => !(document.getElementById('session-end') as HTMLElement).hidden, undefined, { timeout: 30_000 });
    return p.evaluate(() => {
      const text = (id: string) => document.getElementById(id)?.textContent?.trim() ?? '';
      return {
        end: text('session-end-text'),
        buttonShown: !(document.getElementById('new-session') as HTMLButtonElement).hidden,
        failedLog: [...document.querySelectorAll('#round-log li.failed')].map((li) => li.textContent ?? ''),
        log: [...document.querySelectorAll('#round-log li')].map((li) => li.textContent ?? ''),
        phase: text('phase'),
        round: text('round'),
        probe: [...document.querySelectorAll('#probe tr')].map((tr) => tr.textContent ?? ''),
      };
    });
  };

  it('says the session finished, with its final accuracy, marks the failed round, and offers a new session', async () => {
    const v = await finishedView(page);
    expect(v.end).toMatch(/^Session finished: 3 rounds \(1 failed\), final accuracy \d+\.\d%$/);
    expect(v.buttonShown).toBe(true);
    expect(v.failedLog).toHaveLength(1);
    expect(v.failedLog[0]).toMatch(/^round 2 failed: invalid round: .*\(the global model is unchanged\)$/);
    expect(v.log.slice(0, 3).map((l) => l.split(/[ :]/)[1])).toEqual(['3', '2', '1']);
    expect(v.round).toBe('3 / 3');
    await page.waitForFunction(() => /^Session finished/.test(document.getElementById('phase')?.textContent ?? ''), undefined, { timeout: 30_000 });
    const state = (await tabState(page)).session;
    expect(state?.ended).toMatchObject({ status: 'completed', rounds: 3, failed: 1 });
    expect(state?.ended?.finalAccuracy).toBeGreaterThan(0.8);
    // The probe table shows each measured backend's mean and 95% interval; absent GPUs are a line, not an error.
    expect(v.probe.some((row) => /ex\/s \(95% CI [\d.]+-[\d.]+, [3-6] runs\)/.test(row))).toBe(true);
    expect(consoleLines.filter((l) => /Initialization of backend|backend probe left/.test(l))).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-finished.png'), fullPage: true });
  });

  it('shows the same after a reload (rebuilt from the REST API), and the button starts a new session', async () => {
    await page.reload();
    const v = await finishedView(page);
    expect(v.end).toMatch(/^Session finished: 3 rounds \(1 failed\), final accuracy \d+\.\d%$/);
    expect(v.failedLog[0]).toMatch(/^round 2 failed: /);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-finished-reloaded.png'), fullPage: true });
    await page.click('#new-session');
    const next = await waitFor(async () => (await env.server.controller.listSessions()).find((x) => x.id !== sessionId && x.status === 'running'), { timeoutMs: 30_000, what: 'a new session' });
    expect(next.config.rounds).toBe(3);
    await page.waitForFunction(() => (document.getElementById('session-end') as HTMLElement).hidden, undefined, { timeout: 30_000 });
    expect((await tabState(page)).session?.sessionId).toBe(next.id);
    await env.server.controller.stopSession(next.id);
  });
});
