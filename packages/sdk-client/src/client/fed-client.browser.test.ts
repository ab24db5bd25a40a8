/**
 * FedClient in real headless Chromium against a real fedweb server on 127.0.0.1: the server serves a vite-built page
 * (same origin, COOP/COEP) that embeds FedClient; the client trains the MNIST MLP example package on real digits in
 * its Web Worker and uploads. Then: a reload takes package, model and backend decision from IndexedDB (no second
 * download, checked with page.on('request')); a reload mid-round resumes the round; a worker killed mid-training
 * is replaced and the round completes; with WebGPU off, `auto` falls back and says why.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startServer, type FedServer } from '@fedweb/server';
import { buildPage, launchChromium, packMnist, type BuiltPage, type LaunchedChromium } from '../../test/browser.js';
import { loadMnist } from '../../test/mnist.js';
import { FedClient as NodeFedClient } from '../node/index.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const MLP_DIR = here('../../examples/dist/mnist-mlp');
const MEASURED = /^\d+(\.\d+)? ex\/s$/;

type Recorded = { kind: 'status' | 'round' | 'progress' | 'metrics' | 'error'; at: number; payload: Record<string, unknown> };

let root: string;
let built: BuiltPage;
let server: FedServer;
const browsers: LaunchedChromium[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedweb-browser-client-'));
  built = await buildPage(here('./testing/page'));
  mkdirSync(join(built.dir, 'data'), { recursive: true });
  writeFileSync(join(built.dir, 'data', 'train.bin'), packMnist(loadMnist(600)));
  server = await startServer({
    dataDir: join(root, 'server'),
    port: 0,
    host: '127.0.0.1',
    staticDir: built.dir,
    computePackage: { dir: MLP_DIR },
    logger: false,
    heartbeatMs: 2000,
    waitPollMs: 100,
  });
});

afterAll(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
  built?.remove();
  await rm(root, { recursive: true, force: true });
});

async function browser(webgpu: boolean): Promise<LaunchedChromium> {
  const b = await launchChromium({ webgpu });
  browsers.push(b);
  return b;
}

/** Opens the page, records its HTTP requests, and waits until its FedClient is connected. */
async function openClient(b: LaunchedChromium): Promise<{ page: Page; requests: string[]; clientId: string }> {
  const page = await b.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}/index.html`);
  const clientId = await connected(page, b);
  return { page, requests, clientId };
}

async function connected(page: Page, b: LaunchedChromium): Promise<string> {
  try {
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'connected', undefined, { timeout: 60_000 });
  } catch (e) {
    throw new Error(`page did not connect: ${await page.textContent('#status')}\n${b.logs.join('\n')}`, { cause: e });
  }
  const id = (await page.evaluate(() => window.fedwebPage.clientId())) as string;
  await until(() => server.registry.list().some((c) => c.clients.has(id)), 20_000, `client ${id} online at the combiner`);
  return id;
}

const events = (page: Page): Promise<Recorded[]> => page.evaluate(() => window.fedwebPage.events) as Promise<Recorded[]>;

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runSession(config: Record<string, unknown>) {
  const session = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 120_000, learningRate: 0.1, batchSize: 32, ...config });
  const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 240_000);
  const detail = await server.controller.getSession(session.id);
  return { session, done, rounds: detail.rounds, trail: await server.controller.modelTrail(session.id) };
}

const isBlob = (p: string) => p.startsWith('/api/models/') || /^\/api\/packages\/[0-9a-f]{64}$/.test(p);

describe('FedClient in headless Chromium (WebGPU enabled: SwiftShader)', () => {
  let b: LaunchedChromium;
  let page: Page;
  let requests: string[];
  let clientId: string;
  let lastModelId: string;

  beforeAll(async () => {
    b = await browser(true);
    ({ page, requests, clientId } = await openClient(b));
  });
  afterAll(async () => {
    await b?.close(); // its client must not take part in the next describe's rounds
  });

  it('joins, trains a round on real MNIST digits in its worker, uploads, validates, and reports its backend', async () => {
    const { done, rounds, trail } = await runSession({ validate: true });
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 1, 600]]);
    lastModelId = trail[0]!.id;

    const ev = await events(page);
    const phases = ev.filter((e) => e.kind === 'round' && e.payload['task'] === 'train').map((e) => e.payload['phase']);
    expect(phases).toEqual(['started', 'trained', 'uploaded', 'acknowledged']);
    expect(ev.filter((e) => e.kind === 'progress').length).toBeGreaterThan(0);
    const trainMetrics = ev.find((e) => e.kind === 'metrics' && e.payload['task'] === 'train')!.payload;
    expect(trainMetrics['numExamples']).toBe(600);
    const val = ev.find((e) => e.kind === 'metrics' && e.payload['task'] === 'validate')!.payload as { metrics: { accuracy: number } };
    expect(val.metrics.accuracy).toBeGreaterThan(0.3); // one round on 600 digits: far above chance (0.1)
    expect(ev.filter((e) => e.kind === 'error')).toEqual([]);

    // The backend: measured per backend, the fastest kept, reported in status and to the server.
    const report = (await page.evaluate(() => window.fedwebPage.backend())) as { chosen: string; candidates: Record<string, string>; cached: boolean };
    console.log(`[browser] FedClient backend (WebGPU flag on): ${report.chosen} ${JSON.stringify(report.candidates)}`);
    expect(report.cached).toBe(false);
    expect(Object.keys(report.candidates).sort()).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
    expect(report.candidates[report.chosen]).toMatch(MEASURED);
    expect(ev.some((e) => e.kind === 'status' && (e.payload['backend'] as { chosen?: string } | undefined)?.chosen === report.chosen)).toBe(true);
    await until(
      async () => {
        const res = (await (await fetch(`${server.url}/api/clients`)).json()) as { clients: { clientId: string; capabilities: Record<string, unknown> }[] };
        const caps = res.clients.find((c) => c.clientId === clientId)?.capabilities;
        return caps?.['backend'] === report.chosen && caps['platform'] === 'browser' && typeof caps['hardwareConcurrency'] === 'number' && caps['visible'] === true;
      },
      20_000,
      'capabilities with the backend at the server (next heartbeat)',
    );

    // Downloads: the package once, the seed model to train, the new model to validate.
    expect(requests.filter(isBlob).filter((p) => p.startsWith('/api/packages/'))).toHaveLength(1);
    expect(requests.filter((p) => p.startsWith('/api/models/'))).toHaveLength(2);
  });

  it('after a reload, package, model and backend decision come from IndexedDB: no second download', async () => {
    requests.length = 0;
    await page.reload();
    expect(await connected(page, b)).toBe(clientId);
    // Continue from the model this client validated last (the one in its cache).
    const { done, rounds } = await runSession({ initialModelId: lastModelId });
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates])).toEqual([['committed', 1]]);
    expect(requests.filter(isBlob)).toEqual([]);
    expect(requests).toContain('/api/discover'); // the recorder does see the client's requests
    const report = (await page.evaluate(() => window.fedwebPage.backend())) as { cached: boolean };
    expect(report.cached).toBe(true);
  });

  it('a reload mid-round resumes the round, with model and package from IndexedDB', async () => {
    // A second client (Node, 4000 digits) trains in the same round: the round must count each of the two exactly once,
    // the page's resumed update included.
    const slow = new NodeFedClient({
      server: server.url,
      id: 'slow-node',
      cache: false,
      data: { load: () => ({ ...loadMnist(4000, 100), xShape: [784], yShape: [] }) },
      logger: { warn: () => {} },
    });
    try {
      await slow.start();
      await until(() => server.registry.list().some((c) => c.clients.has('slow-node')), 20_000, 'the slow client online');
      // The page reloads itself from its first progress handler: certainly mid-training, whatever the backend's speed.
      await page.evaluate(() => window.fedwebPage.reloadOnFirstProgress());
      const reloaded = page.waitForEvent('load', { timeout: 120_000 });
      requests.length = 0;
      const sessionP = runSession({ localEpochs: 12, initialModelId: lastModelId });
      await reloaded;
      expect(await connected(page, b)).toBe(clientId);
      const roundId = await page.evaluate(() => window.fedwebPage.reloadedDuring());
      expect(roundId).toBeTruthy();
      const { done, rounds } = await sessionP;
      expect(done.status).toBe('completed');
      expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 2, 4600]]);
      // The round commits as soon as the combiner has folded the update; the ack reaches the page a moment later.
      const phases = async () => (await events(page)).filter((e) => e.kind === 'round' && e.payload['roundId'] === roundId).map((e) => e.payload['phase']);
      await until(async () => (await phases()).includes('acknowledged'), 20_000, 'the resumed upload acknowledged in the reloaded page');
      expect(await phases()).toContain('acknowledged');
      expect(requests.filter(isBlob)).toEqual([]);
    } finally {
      await slow.stop();
    }
  });
});

describe('FedClient in headless Chromium (WebGPU off)', () => {
  it('auto falls back without WebGPU and says why; a worker killed mid-training is replaced and the round completes', async () => {
    const b = await browser(false);
    const { page } = await openClient(b);
    const sessionP = runSession({ localEpochs: 12 });
    await until(async () => (await events(page)).some((e) => e.kind === 'progress'), 120_000, 'training under way');
    expect(await page.evaluate(() => window.fedwebPage.killWorker())).toBe(true);
    const { done, rounds } = await sessionP;
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 1, 600]]);
    const ev = await events(page);
    expect(ev.filter((e) => e.kind === 'error').map((e) => e.payload['code'])).toContain('WORKER_DIED');
    expect(await page.evaluate(() => window.fedwebPage.workers())).toBe(2);
    expect(ev.filter((e) => e.kind === 'round').map((e) => e.payload['phase'])).toContain('acknowledged');

    const report = (await page.evaluate(() => window.fedwebPage.backend())) as { chosen: string; candidates: Record<string, string> };
    console.log(`[browser] FedClient backend (WebGPU off): ${report.chosen} ${JSON.stringify(report.candidates)}`);
    expect(report.chosen).not.toBe('webgpu');
    expect(report.candidates['webgpu']).not.toMatch(MEASURED);
    expect(report.candidates[report.chosen]).toMatch(MEASURED);
  });
});
