/**
 * Graceful withdrawal in real headless Chromium (issue 16.5). The page's device APIs are emulated before it loads
 * (`addInitScript`): the Battery Status API (`navigator.getBattery()` resolving to an event target with `level`,
 * `charging`), the Network Information API (`navigator.connection` with `type`, `saveData`, `change` events) and page
 * visibility (`document.visibilityState` + `visibilitychange`). While the page's FedClient trains in its Web Worker,
 * the test drains the battery, switches to cellular or saveData, or hides the page: each must reach the server as a
 * `withdraw` with its reason, abort the training in the worker (the same worker then trains the next round), and
 * emit `withdrawn` on the page. The server is the test's FakeServer (it also serves the page).
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { DeviceConditions } from '@fedweb/codec';
import { packMnist } from '../../test/browser.js';
import { loadMnist } from '../../test/mnist.js';
import { pageEvent, pageEvents, pageServer, pageSuite } from './testing/page-server.js';

const suite = pageSuite();
const { cleanups } = suite;
// Enough digits that 100 local epochs keep the worker busy until the test changes the device.
const digits = packMnist(loadMnist(600));

declare global {
  interface Window {
    emulated: { battery(level: number, charging: boolean): void; connection(type: string, saveData: boolean): void; visibility(state: 'visible' | 'hidden'): void };
  }
}

/** Runs in the page before its scripts: battery, connection and visibility the test controls from outside. */
function emulateDevice(): void {
  const battery = Object.assign(new EventTarget(), { level: 0.9, charging: false, chargingTime: Infinity, dischargingTime: Infinity });
  Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: () => Promise.resolve(battery) });
  const connection = Object.assign(new EventTarget(), { type: 'wifi', effectiveType: '4g', saveData: false });
  Object.defineProperty(Navigator.prototype, 'connection', { configurable: true, get: () => connection });
  let visibility: 'visible' | 'hidden' = 'visible';
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => visibility });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => visibility === 'hidden' });
  window.emulated = {
    battery(level, charging) {
      Object.assign(battery, { level, charging });
      battery.dispatchEvent(new Event('levelchange'));
      battery.dispatchEvent(new Event('chargingchange'));
    },
    connection(type, saveData) {
      Object.assign(connection, { type, saveData });
      connection.dispatchEvent(new Event('change'));
    },
    visibility(state) {
      visibility = state;
      document.dispatchEvent(new Event('visibilitychange'));
    },
  };
}

/** The page server and a page on it (emulated device), connected. */
async function setup() {
  const p = await pageServer(suite.built.dir, digits);
  cleanups.push(() => p.server.close());
  const page = await suite.chromium.newPage();
  cleanups.push(() => page.close());
  await page.addInitScript(emulateDevice);
  await page.goto(`${p.server.url}/index.html?backend=cpu&fastRetry`);
  await pageEvent(page, 'connected', (e) => e.kind === 'status' && e.payload['status'] === 'connected');
  return { ...p, page };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/**
 * Sends round `roundId` with `conditions` and long training, changes the device with `change` once the worker
 * trains, and returns the server's `withdraw` after checking the page's side: `withdrawn`, no update, back to
 * `connected` with the same worker.
 */
async function withdrawnBy(t: Setup, roundId: string, conditions: DeviceConditions, change: (page: Page) => Promise<void>) {
  t.server.send(t.task(roundId, { settings: { localEpochs: 100, batchSize: 16, learningRate: 0.05, conditions } }));
  await pageEvent(t.page, `training of ${roundId}`, (e) => e.kind === 'progress' && e.payload['roundId'] === roundId);
  const seen = (await pageEvents(t.page)).length;
  await change(t.page);
  const w = await t.server.next('withdraw', (m) => m.roundId === roundId, 30_000);
  const ev = await pageEvent(t.page, `withdrawn from ${roundId}`, (e) => e.kind === 'withdrawn' && e.payload['roundId'] === roundId);
  expect(ev.payload['reason']).toBe(w.reason);
  // Back to `connected` once the worker stopped (an event after the change; earlier ones do not count).
  let after = (await pageEvents(t.page)).slice(seen);
  while (!after.some((e) => e.kind === 'status' && e.payload['status'] === 'connected')) {
    await new Promise((r) => setTimeout(r, 100));
    after = (await pageEvents(t.page)).slice(seen);
  }
  expect(after.some((e) => e.kind === 'round' && ['trained', 'failed'].includes(String(e.payload['phase'])))).toBe(false);
  expect(t.server.pendingKinds()).not.toContain('update');
  return w;
}

describe('withdrawal in the browser (emulated battery, connection and visibility)', () => {
  it('the battery drains below the threshold mid-training: withdraw (battery), training aborted in the worker, the same worker trains the next round', async () => {
    const t = await setup();
    const w = await withdrawnBy(t, 'r-battery', { minBattery: 0.2 }, (page) => page.evaluate(() => window.emulated.battery(0.1, false)));
    expect(w).toMatchObject({ reason: 'battery', taskId: 't-r-battery', capabilities: { platform: 'browser', battery: { level: 0.1, charging: false } } });
    await t.page.evaluate(() => window.emulated.battery(0.1, true));
    await t.healthyRound(t.page, 'r-ok');
    expect(await t.page.evaluate(() => window.fedwebPage.workers())).toBe(1);
  });

  it('the connection becomes cellular, then saveData is switched on: each withdraws (metered)', async () => {
    const t = await setup();
    const w1 = await withdrawnBy(t, 'r-cell', { excludeConnectionTypes: ['cellular'] }, (page) => page.evaluate(() => window.emulated.connection('cellular', false)));
    expect(w1).toMatchObject({ reason: 'metered', capabilities: { connection: { type: 'cellular', saveData: false } } });
    await t.page.evaluate(() => window.emulated.connection('wifi', false));
    const w2 = await withdrawnBy(t, 'r-save', { excludeSaveData: true }, (page) => page.evaluate(() => window.emulated.connection('wifi', true)));
    expect(w2).toMatchObject({ reason: 'metered', capabilities: { connection: { type: 'wifi', saveData: true } } });
  });

  it('the page is hidden while the session asks for foreground training: withdraw (hidden); visible again, it trains', async () => {
    const t = await setup();
    const w = await withdrawnBy(t, 'r-hidden', { requireVisible: true }, (page) => page.evaluate(() => window.emulated.visibility('hidden')));
    expect(w).toMatchObject({ reason: 'hidden', capabilities: { visible: false } });
    await t.page.evaluate(() => window.emulated.visibility('visible'));
    await t.healthyRound(t.page, 'r-ok');
  });
});
