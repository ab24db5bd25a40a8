/**
 * An unattended kiosk in real headless Chromium against a misbehaving server (issue 18), where the browser's path
 * differs from Node's: the browser's fetch streams (an endless discovery body, a model download far longer than
 * its reference, both read only up to their bound) and the Web Worker (a package whose `train()` busy-loops and
 * ignores the abort: the worker is terminated at the timeout, heartbeats go on, a fresh worker serves the next
 * task). The server is the test's FakeServer (it also serves the test page, so the page is same-origin); each
 * case ends with a healthy round acknowledged.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sha256Hex, type BlobRef, type MessageInput } from '@fedweb/codec';
import { buildPage, launchChromium, packMnist, type BuiltPage, type LaunchedChromium } from '../../test/browser.js';
import { loadMnist } from '../../test/mnist.js';
import { FakeServer } from './testing/fake-server.js';
import { endless, trainTask, zerosFrame } from './testing/hostile.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const LAYOUT = [
  { name: 'w0', shape: [784, 10] },
  { name: 'w1', shape: [10] },
];
const CREATE = 'export function createModel(tf) { const m = tf.sequential(); m.add(tf.layers.dense({ inputShape: [784], units: 10, activation: "softmax" })); return m; }';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

let built: BuiltPage;
let chromium: LaunchedChromium;
const digits = packMnist(loadMnist(64));
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  built = await buildPage(here('./testing/page'));
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
  built?.remove();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** A FakeServer that also serves the test page, its digits, a model and packages; `hostile` decides per request. */
async function kioskServer() {
  const server = await FakeServer.start();
  cleanups.push(() => server.close());
  server.heartbeatMs = 200;
  const model = await server.blob('m1', '/api/models/m1', await zerosFrame(LAYOUT));
  const pkg = async (id: string, code: string): Promise<BlobRef> => {
    const bytes = new TextEncoder().encode(code);
    return server.blob(id, `/api/packages/${await sha256Hex(bytes)}`, bytes);
  };
  const packages = { good: await pkg('good', CREATE), busy: await pkg('busy', `${CREATE}\nexport async function train() { for (;;) {} }`) };
  const state = { endlessDiscoveries: 0 };
  server.intercept = (req, res) => {
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
    if (path === '/data/train.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(digits));
      return true;
    }
    const file = join(built.dir, normalize(path === '/' ? '/index.html' : path));
    if (req.method === 'GET' && file.startsWith(built.dir) && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
      return true;
    }
    return false;
  };
  const task = (roundId: string, over: Partial<MessageInput<'task.train'>> = {}) => trainTask(roundId, model, packages.good, { settings: { localEpochs: 1, batchSize: 16, learningRate: 0.1 }, ...over });
  const healthyRound = async (page: Page, roundId: string) => {
    server.send(task(roundId));
    const u = await server.next('update', (m) => m.roundId === roundId, 90_000);
    await server.nextFrame(u.uploadId, 90_000);
    server.send({ v: 2, kind: 'update.ack', uploadId: u.uploadId, roundId });
    await pageEvent(page, `round ${roundId} acknowledged`, (e) => e.kind === 'round' && e.payload['roundId'] === roundId && e.payload['phase'] === 'acknowledged');
  };
  return { server, model, packages, state, task, healthyRound };
}

type Recorded = { kind: string; payload: Record<string, unknown> };
const events = (page: Page) => page.evaluate(() => window.fedwebPage.events) as Promise<Recorded[]>;

/** Waits until the page recorded an event matching `pred`. */
async function pageEvent(page: Page, what: string, pred: (e: Recorded) => boolean, ms = 90_000): Promise<Recorded> {
  const end = Date.now() + ms;
  for (;;) {
    const hit = (await events(page)).find(pred);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`the page recorded no ${what}; it recorded ${JSON.stringify((await events(page)).filter((e) => e.kind !== 'progress').slice(-10))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function open(url: string, query: string): Promise<Page> {
  const page = await chromium.newPage();
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
