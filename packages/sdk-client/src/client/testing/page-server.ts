/**
 * Test-only: a {@link FakeServer} that also serves the built test page (so the page is same-origin), its digits, a
 * one-layer model and compute packages, plus how a test reads what the page's FedClient recorded. Shared by the
 * browser tests that drive the protocol by hand (kiosk.browser.test.ts, withdraw.browser.test.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { sha256Hex, type BlobRef, type MessageInput } from '@fedweb/codec';
import { buildPage, launchChromium, type BuiltPage, type LaunchedChromium } from '../../../test/browser.js';
import { FakeServer } from './fake-server.js';
import { trainTask, zerosFrame } from './hostile.js';

const LAYOUT = [
  { name: 'w0', shape: [784, 10] },
  { name: 'w1', shape: [10] },
];
/** `createModel` of a softmax regression on 784 pixels; a package is this plus whatever a test adds. */
export const CREATE = 'export function createModel(tf) { const m = tf.sequential(); m.add(tf.layers.dense({ inputShape: [784], units: 10, activation: "softmax" })); return m; }';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/**
 * Registers a browser test file's hooks: the test page is built and Chromium launched before its tests, both removed
 * after them, and what a test pushes to `cleanups` runs (newest first) after it. Call at module level.
 * @example
 * ```ts
 * const suite = pageSuite();
 * it('...', async () => { const page = await suite.chromium.newPage(); suite.cleanups.push(() => page.close()); });
 * ```
 */
export function pageSuite() {
  const suite = { built: undefined as unknown as BuiltPage, chromium: undefined as unknown as LaunchedChromium, cleanups: [] as (() => Promise<void>)[] };
  beforeAll(async () => {
    suite.built = await buildPage(fileURLToPath(new URL('./page', import.meta.url)));
    suite.chromium = await launchChromium();
  });
  afterAll(async () => {
    await suite.chromium?.close();
    suite.built?.remove();
  });
  afterEach(async () => {
    for (const c of suite.cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  return suite;
}

/** An event the test page recorded (`window.fedwebPage.events`). */
export type Recorded = { kind: string; payload: Record<string, unknown> };

/** What the page recorded so far. */
export const pageEvents = (page: Page) => page.evaluate(() => window.fedwebPage.events) as Promise<Recorded[]>;

/**
 * Waits until the page recorded an event matching `pred` (polling its record; fails with the last events).
 * @example
 * ```ts
 * await pageEvent(page, 'connected', (e) => e.kind === 'status' && e.payload['status'] === 'connected');
 * ```
 */
export async function pageEvent(page: Page, what: string, pred: (e: Recorded) => boolean, ms = 90_000): Promise<Recorded> {
  const end = Date.now() + ms;
  for (;;) {
    const hit = (await pageEvents(page)).find(pred);
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`the page recorded no ${what}; it recorded ${JSON.stringify((await pageEvents(page)).filter((e) => e.kind !== 'progress').slice(-10))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the server (heartbeats every 200 ms). `intercept` answers a request first (return true when it did).
 * @example
 * ```ts
 * const p = await pageServer(built.dir, digits);
 * p.server.send(p.task('r1'));
 * ```
 */
export async function pageServer(pageDir: string, digits: Uint8Array, intercept?: (req: IncomingMessage, res: ServerResponse) => boolean) {
  const server = await FakeServer.start();
  server.heartbeatMs = 200;
  const model = await server.blob('m1', '/api/models/m1', await zerosFrame(LAYOUT));
  const pkg = async (id: string, code: string): Promise<BlobRef> => {
    const bytes = new TextEncoder().encode(code);
    return server.blob(id, `/api/packages/${await sha256Hex(bytes)}`, bytes);
  };
  const good = await pkg('good', CREATE);
  server.intercept = (req, res) => {
    if (intercept?.(req, res)) return true;
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/data/train.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(digits));
      return true;
    }
    const file = join(pageDir, normalize(path === '/' ? '/index.html' : path));
    if (req.method === 'GET' && file.startsWith(pageDir) && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
      return true;
    }
    return false;
  };
  const task = (roundId: string, over: Partial<MessageInput<'task.train'>> = {}) => trainTask(roundId, model, good, { settings: { localEpochs: 1, batchSize: 16, learningRate: 0.1 }, ...over });
  /** Task `roundId` trained, uploaded and acknowledged. */
  const healthyRound = async (page: Page, roundId: string) => {
    server.send(task(roundId));
    const u = await server.next('update', (m) => m.roundId === roundId, 90_000);
    await server.nextFrame(u.uploadId, 90_000);
    server.send({ v: 2, kind: 'update.ack', uploadId: u.uploadId, roundId });
    await pageEvent(page, `round ${roundId} acknowledged`, (e) => e.kind === 'round' && e.payload['roundId'] === roundId && e.payload['phase'] === 'acknowledged');
  };
  return { server, model, pkg, task, healthyRound };
}
