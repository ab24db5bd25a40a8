/**
 * An unattended kiosk in real headless Chromium against a misbehaving server (issue 18), where the browser's path
 * differs from Node's: the browser's fetch streams (an endless discovery body, a model download far longer than
 * its reference, both read only up to their bound) and the Web Worker (a package whose `train()` busy-loops and
 * ignores the abort: the worker is terminated at the timeout, heartbeats go on, a fresh worker serves the next
 * task). The server is the test's FakeServer (it also serves the test page, so the page is same-origin); each
 * case ends with a healthy round acknowledged.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { packMnist } from '../../test/browser.js';
import { loadMnist } from '../../test/mnist.js';
import { endless } from './testing/hostile.js';
import { CREATE, pageEvent, pageEvents as events, pageServer, pageSuite } from './testing/page-server.js';

const suite = pageSuite();
const { cleanups } = suite;
const digits = packMnist(loadMnist(64));

/** The page server plus hostile routes (an endless discovery body, an endless model) and a busy-looping package. */
async function kioskServer() {
  const state = { endlessDiscoveries: 0 };
  const p = await pageServer(suite.built.dir, digits, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/api/discover' && state.endlessDiscoveries > 0) {
      state.endlessDiscoveries--;
      endless(res, '{"combinerId":"c","url":"');
      return true;
    }
    if (path === '/api/models/endless') {
      endless(res);
      return true;
    }
    return false;
  });
  cleanups.push(() => p.server.close());
  const packages = { busy: await p.pkg('busy', `${CREATE}\nexport async function train() { for (;;) {} }`) };
  return { ...p, packages, state };
}

async function open(url: string, query: string): Promise<Page> {
  const page = await suite.chromium.newPage();
  cleanups.push(() => page.close());
  await page.goto(`${url}/index.html?backend=cpu&fastRetry&${query}`);
  return page;
}

describe('kiosk in the browser: bounded reads and a worker that can always be stopped', () => {
  it('an endless discovery body is cut at its bound and retried; the page joins once discovery behaves', async () => {
    const k = await kioskServer();
    k.state.endlessDiscoveries = 3;
    const page = await open(k.server.url, '');
    await pageEvent(page, 'connected', (e) => e.kind === 'status' && e.payload['status'] === 'connected');
    const cut = (await events(page)).filter((e) => e.kind === 'error' && e.payload['code'] === 'FRAME_TOO_LARGE');
    expect(cut).toHaveLength(3);
    await k.healthyRound(page, 'r-ok');
  });

  it('a model download far longer than its reference is cut one byte past it (HASH_MISMATCH), told to the combiner; the next round trains', async () => {
    const k = await kioskServer();
    const page = await open(k.server.url, '');
    await pageEvent(page, 'connected', (e) => e.kind === 'status' && e.payload['status'] === 'connected');
    k.server.send(k.task('bad', { model: { ...k.model, url: '/api/models/endless' } }));
    expect((await k.server.next('error', (m) => m.ref === 't-bad', 60_000)).code).toBe('HASH_MISMATCH');
    await k.healthyRound(page, 'r-ok');
  });

  it("a train() that busy-loops in the Web Worker: heartbeats go on, the timeout terminates the worker, a fresh one serves the next task", async () => {
    const k = await kioskServer();
    const page = await open(k.server.url, 'trainMs=4000');
    await pageEvent(page, 'connected', (e) => e.kind === 'status' && e.payload['status'] === 'connected');
    k.server.send(k.task('busy', { package: k.packages.busy }));
    await pageEvent(page, 'training', (e) => e.kind === 'status' && e.payload['status'] === 'training');
    const queued = k.server.pendingKinds().filter((x) => x === 'heartbeat').length;
    for (let i = 0; i <= queued + 2; i++) await k.server.next('heartbeat', () => true, 10_000);
    expect((await k.server.next('error', (m) => m.ref === 't-busy', 60_000)).code).toBe('TIMEOUT');
    await k.healthyRound(page, 'r-ok');
    expect(await page.evaluate(() => window.fedwebPage.workers())).toBe(2);
  });
});
