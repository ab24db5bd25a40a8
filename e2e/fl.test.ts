/**
 * End-to-end federated learning in real headless Chromium tabs of the demo page, against a real server.
 * Model: the MNIST MLP on tfjs WASM (~3,000 examples/s per tab; the CNN's ~95-400 on software WebGL would
 * make these tests take many minutes on two cores). IID split over 4 shards of 1,750 digits (the 7,000-digit training split).
 * Accuracy is judged by the harness in Node on the fixed 2,000-digit held-out test set.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, WebSocketRoute } from 'playwright-core';
import { launchChromium, type LaunchedBrowser } from './lib/browser.js';
import { createEvaluator, type Evaluator } from './lib/evaluate.js';
import { waitFor } from './lib/net.js';
import { ROOT } from './lib/prepare.js';
import { openTab, startSimEnv, tabState, type DemoState, type SimEnv } from './lib/sim-env.js';

const ARTIFACTS = join(ROOT, 'e2e/artifacts');

describe('federated MNIST in 4 browser tabs', () => {
  let env: SimEnv;
  let browser: LaunchedBrowser;
  let judge: Evaluator;
  const tabs: Page[] = [];
  const consoleLines: string[] = [];

  const modelFrame = async (modelId: string) => {
    const m = await env.server.state.getModel(modelId);
    const bytes = m && (await env.server.blobs.get(m.sha256));
    if (!bytes) throw new Error(`model ${modelId} missing`);
    return bytes;
  };
  const session = (config: Record<string, unknown>) =>
    env.startSession({ clientsRequired: 1, localEpochs: 1, batchSize: 32, learningRate: 0.1, validate: true, roundTimeoutMs: 120_000, validateTimeoutMs: 60_000, ...config });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    env = await startSimEnv({ model: 'mlp', split: 'iid', seed: 42, shards: 4, combiners: 1 });
    browser = await launchChromium();
    judge = await createEvaluator(env.packageDir);
    const log = (l: string) => consoleLines.push(l);
    // Tab 0 probes every backend (its report is on the screenshot); the others go straight to WASM.
    tabs.push(await openTab(browser.context, env.url, 'e2e-tab-0', { backend: 'auto', validation: 500, onConsole: log }));
    for (let i = 1; i < 4; i++) tabs.push(await openTab(browser.context, env.url, `e2e-tab-${i}`, { backend: 'wasm', validation: 500, onConsole: log }));
    await env.waitForClients(4, 60_000);
  });

  afterAll(async () => {
    await browser?.close();
    judge?.dispose();
    await env?.close();
  });

  it('4 tabs, IID, 3 rounds: the global model reaches >= 0.85 test accuracy, above the initial model', async () => {
    const s = await session({ name: 'e2e accuracy', rounds: 3 });
    const done = await env.server.controller.waitForSession(s.id, ['completed', 'stopped', 'failed'], 240_000);
    expect(done.status).toBe('completed');
    const rounds = (await env.rounds(s.id)).sort((a, b) => a.round - b.round);
    expect(rounds.map((r) => [r.status, r.updates])).toEqual([
      ['committed', 4],
      ['committed', 4],
      ['committed', 4],
    ]);
    const acc0 = (await judge.evaluate(await modelFrame(s.initialModelId))).accuracy;
    const acc3 = (await judge.evaluate(await modelFrame(done.currentModelId))).accuracy;
    console.log(`e2e: test accuracy round 0 ${acc0.toFixed(4)}, round 3 ${acc3.toFixed(4)}`);
    expect(acc3).toBeGreaterThanOrEqual(0.85);
    expect(acc3).toBeGreaterThan(acc0);
    // The clients' own validation (500 held-out digits each) agrees within a few points.
    const val = rounds[2]?.validationMetrics['accuracy'];
    expect(val).toBeGreaterThan(0.8);
  });

  it('shows the round on the demo page: chart, progress, backend, bytes and a prediction (screenshot saved)', async () => {
    const page = tabs[0]!;
    await page.bringToFront();
    // The page polls every 2 s: wait until its chart has the three rounds.
    await page.waitForFunction(() => (window as unknown as { __fedweb: DemoState }).__fedweb.trail.filter((p) => p.accuracy !== undefined).length >= 3, undefined, { timeout: 30_000 });
    // Draw a "1": a vertical stroke in the middle of the pad.
    const pad = await page.locator('#pad').boundingBox();
    if (!pad) throw new Error('no drawing pad');
    await page.mouse.move(pad.x + pad.width * 0.52, pad.y + pad.height * 0.15);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await page.mouse.move(pad.x + pad.width * (0.52 - i * 0.004), pad.y + pad.height * (0.15 + i * 0.06));
    await page.mouse.up();
    await page.waitForFunction(() => /^Prediction of/.test(document.getElementById('draw-hint')?.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-after-round.png'), fullPage: true });

    const dom = await page.evaluate(() => {
      const text = (id: string) => document.getElementById(id)?.textContent?.trim() ?? '';
      const progress = (id: string) => {
        const p = document.getElementById(id) as HTMLProgressElement | null;
        return p ? { value: p.value, max: p.max } : null;
      };
      const canvas = document.querySelector('#chart canvas') as HTMLCanvasElement | null;
      // The chart is non-empty when its canvas has painted pixels (uPlot draws series and axes on it).
      let painted = 0;
      if (canvas) {
        const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
        if (data) for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) painted++;
      }
      return {
        round: text('round'),
        acc: text('acc'),
        chartPainted: painted,
        chartSize: canvas ? [canvas.width, canvas.height] : null,
        epoch: progress('epoch-progress'),
        batch: progress('batch-progress'),
        epochText: text('epoch-text'),
        backend: text('backend'),
        probeRows: document.querySelectorAll('#probe tr').length,
        bytesUp: text('bytes-up'),
        ratio: text('bytes-ratio'),
        histogramBars: document.querySelectorAll('#histogram .b').length,
        prediction: text('pred-digit'),
        simBadge: text('sim-badge'),
      };
    });
    expect(dom.round).toMatch(/^3 \/ 3$/);
    expect(dom.acc).toMatch(/^\d+\.\d%$/);
    expect(dom.chartSize?.[0]).toBeGreaterThan(200);
    expect(dom.chartPainted).toBeGreaterThan(1000);
    expect(dom.epoch?.value).toBeGreaterThan(0);
    expect(dom.batch?.value).toBeGreaterThan(0);
    expect(dom.batch?.max).toBeGreaterThan(1);
    expect(dom.epochText).toMatch(/^\d+ \/ \d+$/);
    expect(['WEBGPU', 'WEBGL', 'WASM', 'CPU']).toContain(dom.backend);
    expect(dom.probeRows).toBeGreaterThanOrEqual(2);
    expect(dom.bytesUp).not.toBe('0 B');
    expect(dom.ratio).toMatch(/%$/);
    expect(dom.histogramBars).toBe(10);
    expect(dom.prediction).toMatch(/^\d$/);
    expect(dom.simBadge).toContain('SIMULATION MODE');
  });

  it('a reloaded tab resumes its round from IndexedDB without downloading the package or the model again', async () => {
    const page = tabs[1]!;
    // Long enough local training that the reload lands mid-round (the other tabs are still training).
    // No validation task in this session: it would (rightly) download the round's NEW model.
    const s = await session({ name: 'e2e reload', rounds: 1, localEpochs: 6, validate: false });
    await page.waitForFunction(() => (window as unknown as { __fedweb: DemoState }).__fedweb.status === 'training', undefined, { timeout: 60_000 });
    const downloads: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/packages/') || path.startsWith('/api/models/')) downloads.push(path);
    });
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { __fedweb: DemoState }).__fedweb.updatesAcked >= 1, undefined, { timeout: 120_000 });
    const done = await env.server.controller.waitForSession(s.id, ['completed', 'stopped', 'failed'], 120_000);
    expect(done.status).toBe('completed');
    const [round] = await env.rounds(s.id);
    // All four tabs counted, the reloaded one once (a session's first round weighs every update 1: README "Threat model").
    expect(round?.updates).toBe(4);
    expect(round?.weight).toBe(4);
    expect(downloads).toEqual([]);
  });

  it('a tab closed mid-upload: the round completes from the others and its update is not counted', async () => {
    // A fifth tab whose WebSocket we proxy: its update announcement goes through, its chunks never do,
    // and the tab is closed while the combiner holds the half-received upload.
    const context = browser.context;
    const victim = await context.newPage();
    let announced = false;
    let closing: Promise<void> | undefined;
    await victim.routeWebSocket(/\/ws\/client/, (ws: WebSocketRoute) => {
      const server = ws.connectToServer();
      ws.onMessage((msg) => {
        if (typeof msg === 'string' && msg.includes('"kind":"update"')) {
          announced = true;
          server.send(msg);
          return;
        }
        if (announced && typeof msg !== 'string') {
          closing ??= victim.close();
          return;
        }
        server.send(msg);
      });
      server.onMessage((msg) => ws.send(msg));
    });
    await victim.goto(`${env.url}/?client=e2e-victim&backend=wasm&validation=0`);
    await env.waitForClients(5, 60_000);
    const s = await session({ name: 'e2e close mid-upload', rounds: 1, validate: false });
    const done = await env.server.controller.waitForSession(s.id, ['completed', 'stopped', 'failed'], 180_000);
    expect(announced).toBe(true);
    await closing;
    expect(victim.isClosed()).toBe(true);
    expect(done.status).toBe('completed');
    const [round] = await env.rounds(s.id);
    expect(round?.status).toBe('committed');
    // Five selected, the four surviving tabs' updates counted, the victim's not.
    expect(round?.updates).toBe(4);
    const acked = await Promise.all(tabs.map(async (t) => (await tabState(t)).updatesAcked));
    expect(acked.every((n) => n >= 1)).toBe(true);
    await waitFor(() => (env.clientsOnline() === 4 ? true : undefined), { timeoutMs: 30_000, what: 'the closed tab to be gone' });
  });
});
