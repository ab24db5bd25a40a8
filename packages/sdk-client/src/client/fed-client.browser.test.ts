/**
 * FedClient in real headless Chromium against a real fedweb server on 127.0.0.1: the server serves a vite-built page
 * (same origin, COOP/COEP) that embeds FedClient; the client trains the MNIST MLP example package on real digits in
 * its Web Worker and uploads. Then: a reload takes package, model and backend decision from IndexedDB (no second
 * download, checked with page.on('request')); a reload mid-training resumes the round; a reload between an update's
 * announcement and its chunks resumes the upload; a worker killed mid-training is replaced and the round completes;
 * with WebGPU off, `auto` falls back and says why. Every wait is on an event the page recorded or on the server's
 * state, bounded only by the test's timeout (a failing test prints what it waited for and the page's events).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { startServer, type FedServer } from '@fedweb/server';
import { buildPage, launchChromium, packMnist, type BuiltPage, type LaunchedChromium } from '../../test/browser.js';
import { loadMnist } from '../../test/mnist.js';
import { FedClient as NodeFedClient } from '../node/index.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const MLP_DIR = here('../../examples/dist/mnist-mlp');
/** A measured backend cell: geometric mean and 95% interval over the probe's interleaved passes (maybe a note after it). */
const MEASURED = /^\d+(\.\d+)? ex\/s \(95% CI [\d.]+-[\d.]+, [3-6] runs\)/;

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
    // A reloading page is waited for until the round's deadline, however long the reload takes on a busy machine.
    combiner: { reconnectGraceMs: 240_000 },
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

/** What the running test waits for, and on which page: printed when it fails (its timeout is the only bound). */
let waiting: { what: string; page?: Page } | undefined;
beforeEach(() => {
  waiting = undefined;
  onTestFailed(async () => {
    if (!waiting) return;
    const recorded = waiting.page ? await events(waiting.page).catch(() => []) : [];
    const summary = recorded.filter((e) => e.kind !== 'progress').map((e) => `${e.kind}:${String(e.payload['status'] ?? e.payload['phase'] ?? e.payload['code'] ?? '')}`);
    console.log(`[browser] was waiting for ${waiting.what}; the page recorded: ${summary.join(' ')}\n${browsers.flatMap((b) => b.logs).join('\n')}`);
  });
});

/** Opens the page, records its HTTP requests, and waits until its FedClient is connected. */
async function openClient(b: LaunchedChromium): Promise<{ page: Page; requests: string[]; clientId: string }> {
  const page = await b.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}/index.html`);
  const clientId = await connected(page);
  return { page, requests, clientId };
}

/** Waits until the page's FedClient (since the page loaded) was welcomed and the controller lists it online. */
async function connected(page: Page): Promise<string> {
  await recorded(page, 'the page connected', CONNECTED);
  const id = (await page.evaluate(() => window.fedwebPage.clientId())) as string;
  await until(() => server.registry.list().some((c) => c.clients.has(id)), `client ${id} online at the combiner`);
  return id;
}

const events = (page: Page): Promise<Recorded[]> => page.evaluate(() => window.fedwebPage.events) as Promise<Recorded[]>;

/** A recorded event's kind and payload fields that must match. */
type Pattern = { kind: Recorded['kind'] } & Record<string, unknown>;

/** Waits until the page has recorded events matching `patterns`, in this order (others may come between). */
async function recorded(page: Page, what: string, ...patterns: Pattern[]): Promise<void> {
  waiting = { what, page };
  await page.waitForFunction(
    (ps) => {
      let i = 0;
      for (const e of window.fedwebPage.events as { kind: string; payload: Record<string, unknown> }[]) {
        const p = ps[i];
        if (p && e.kind === p['kind'] && Object.entries(p).every(([k, v]) => k === 'kind' || e.payload?.[k] === v)) i++;
      }
      return i === ps.length;
    },
    patterns,
    { polling: 100, timeout: 0 },
  );
  waiting = undefined;
}

const CONNECTED: Pattern = { kind: 'status', status: 'connected' };
/** Round events of `roundId` with these phases, in this order. */
const inRound = (roundId: string, ...phases: string[]): Pattern[] => phases.map((phase) => ({ kind: 'round', roundId, phase }));

/** Polls the server's state until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  waiting = { what };
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
  waiting = undefined;
}

// Every session here runs one round: a session's first round weighs each update 1, so a round's weight is its
// update count (server README "Threat model").
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

  /** Arms the page to reload itself during the next round, starts a one-round session, and waits until it is back. */
  async function reloadDuringRound(arm: 'reloadOnFirstProgress' | 'reloadOnFirstChunk', config: Record<string, unknown>) {
    await page.evaluate((a) => window.fedwebPage[a](), arm);
    const reloaded = page.waitForEvent('load', { timeout: 0 });
    requests.length = 0;
    const session = runSession(config);
    session.catch(() => {}); // awaited by the test; a failure must not go unhandled meanwhile
    await reloaded;
    expect(await connected(page)).toBe(clientId);
    const roundId = (await page.evaluate(() => window.fedwebPage.reloadedDuring())) as string;
    expect(roundId).toBeTruthy();
    return { roundId, session };
  }

  const roundPhases = async (roundId: string) =>
    (await events(page)).filter((e) => e.kind === 'round' && e.payload['roundId'] === roundId).map((e) => e.payload['phase']);

  it('joins, trains a round on real MNIST digits in its worker, uploads, validates, and reports its backend', async () => {
    const { done, rounds, trail } = await runSession({ validate: true });
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 1, 1]]);
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
    await until(async () => {
      const res = (await (await fetch(`${server.url}/api/clients`)).json()) as { clients: { clientId: string; capabilities: Record<string, unknown> }[] };
      const caps = res.clients.find((c) => c.clientId === clientId)?.capabilities;
      return caps?.['backend'] === report.chosen && caps['platform'] === 'browser' && typeof caps['hardwareConcurrency'] === 'number' && caps['visible'] === true;
    }, 'capabilities with the backend at the server (next heartbeat)');

    // Downloads: the package once, the seed model to train (the download stream's full frame, /api/blobs/<sha256>:
    // README "Delta downloads"), the new model to validate (/api/models/<id>).
    expect(requests.filter(isBlob).filter((p) => p.startsWith('/api/packages/'))).toHaveLength(1);
    expect(requests.filter((p) => p.startsWith('/api/models/'))).toHaveLength(1);
    expect(requests.filter((p) => p.startsWith('/api/blobs/'))).toHaveLength(1);
  });

  it('after a reload, package, model and backend decision come from IndexedDB: no second download', async () => {
    requests.length = 0;
    await page.reload();
    expect(await connected(page)).toBe(clientId);
    // Continue from the model this client validated last (the one in its cache).
    const { done, rounds } = await runSession({ initialModelId: lastModelId });
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates])).toEqual([['committed', 1]]);
    expect(requests.filter(isBlob)).toEqual([]);
    expect(requests).toContain('/api/discover'); // the recorder does see the client's requests
    const report = (await page.evaluate(() => window.fedwebPage.backend())) as { cached: boolean };
    expect(report.cached).toBe(true);
  });

  it('a second round rebuilds the model from the int8 delta added to the base in IndexedDB', async () => {
    const before = await page.evaluate(() => window.fedwebPage.events.length);
    const { done } = await runSession({ rounds: 2, initialModelId: lastModelId });
    expect(done.status).toBe('completed');
    const models = (await page.evaluate(() => window.fedwebPage.events)).slice(before).filter((e) => e.kind === 'model').map((e) => e.payload as { via: string; bytes: number; f32Bytes: number });
    // Round 1 starts a new download stream at the session's model, which this page already holds (the previous test
    // trained on it: no event, the event comes once per model); round 2 is a delta, used only if its sum with the
    // IndexedDB base hashes to the server's reconstruction (else it would be 'full').
    expect(models.map((m) => m.via)).toEqual(['delta']);
    expect(models[0]!.bytes).toBeLessThan(0.3 * models[0]!.f32Bytes);
  });

  it('a reload mid-training resumes the round, with model and package from IndexedDB', async () => {
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
      await until(() => server.registry.list().some((c) => c.clients.has('slow-node')), 'the slow client online');
      // The page reloads itself from its first progress handler: certainly mid-training, whatever the backend's speed
      // (and the leaving page never finishes that training, however long the reload takes to commit).
      // Bounds for a busy machine (the slow client trains in this process): the round's deadline and the test's
      // timeout sit above the session wait, so what ends the test is an event, not a clock.
      const { roundId, session } = await reloadDuringRound('reloadOnFirstProgress', { localEpochs: 12, initialModelId: lastModelId, roundTimeoutMs: 230_000 });
      const { done, rounds } = await session;
      expect(done.status).toBe('completed');
      expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 2, 2]]);
      // The round commits as soon as the combiner has folded the update; the ack reaches the page a moment later.
      await recorded(page, 'the resumed round acknowledged in the reloaded page, then connected', ...inRound(roundId, 'resumed', 'started', 'acknowledged'), CONNECTED);
      const phases = await roundPhases(roundId);
      expect(phases).toContain('acknowledged');
      expect(phases.filter((p) => p === 'resumed' || p === 'started')).toEqual(['resumed', 'started']); // trained once after the reload
      expect(requests.filter(isBlob)).toEqual([]);
    } finally {
      await slow.stop();
    }
  }, 300_000);

  it('a reload between an update and its chunks resumes the upload from IndexedDB and ends connected', async () => {
    // The page reloads itself when it is about to send its update's first chunk: the update is cached and announced,
    // no chunk reached the combiner, no ack can come. The reloaded page must upload it without training again.
    const { roundId, session } = await reloadDuringRound('reloadOnFirstChunk', { initialModelId: lastModelId });
    const { done, rounds } = await session;
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 1, 1]]);
    await recorded(page, 'the resumed upload acknowledged in the reloaded page, then connected', ...inRound(roundId, 'resumed', 'acknowledged'), CONNECTED);
    expect(await roundPhases(roundId)).not.toContain('started'); // not trained again
    expect((await events(page)).filter((e) => e.kind === 'progress')).toEqual([]);
    expect(requests.filter(isBlob)).toEqual([]);
  });
});

describe('FedClient in headless Chromium (WebGPU off)', () => {
  it('auto falls back without WebGPU and says why; a worker killed mid-training is replaced and the round completes', async () => {
    const b = await browser(false);
    const { page } = await openClient(b);
    const sessionP = runSession({ localEpochs: 12 });
    await recorded(page, 'training under way', { kind: 'progress' });
    expect(await page.evaluate(() => window.fedwebPage.killWorker())).toBe(true);
    const { done, rounds } = await sessionP;
    expect(done.status).toBe('completed');
    expect(rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([['committed', 1, 1]]);
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
