/**
 * The worker trainer in real headless Chromium: a vite-built page (served with COOP/COEP) runs the compute
 * packages on real MNIST digits through `createWorkerTrainer()`.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TrainSettings } from '@fedweb/codec';
import { buildPage, launchChromium, packMnist, serveStatic, type BuiltPage, type LaunchedChromium, type StaticServer } from './browser.js';
import { loadMnist } from './mnist.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const settings = (s: Partial<TrainSettings> = {}): TrainSettings => ({ localEpochs: 1, batchSize: 32, learningRate: 0.1, encoding: 'int8', strategy: {}, extra: {}, ...s });
/** A measured backend's cell: geometric mean and 95% interval over the interleaved passes (maybe a note after it). */
const MEASURED = /^\d+(\.\d)? ex\/s \(95% CI [\d.]+-[\d.]+, [3-6] runs\)/;

let built: BuiltPage;
let server: StaticServer;

beforeAll(async () => {
  built = await buildPage(here('./pages/trainer'));
  const routes: Record<string, Uint8Array | { file: string }> = {
    '/data/train.bin': packMnist(loadMnist(300)),
    '/data/test.bin': packMnist(loadMnist(200, 400)),
    '/data/small.bin': packMnist(loadMnist(64)),
  };
  for (const pkg of ['mnist-mlp', 'mnist-cnn']) {
    for (const f of ['package.mjs', 'manifest.json', 'seed-model.fwf']) routes[`/pkg/${pkg}/${f}`] = { file: here(`../examples/dist/${pkg}/${f}`) };
  }
  server = await serveStatic(built.dir, routes);
});

afterAll(async () => {
  await server?.close();
  built?.remove();
});

async function openPage(b: LaunchedChromium): Promise<Page> {
  const page = await b.newPage();
  await page.goto(`${server.origin}/index.html`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  return page;
}

describe('worker trainer in headless Chromium, WebGPU enabled (SwiftShader)', () => {
  let b: LaunchedChromium;
  let page: Page;
  beforeAll(async () => {
    b = await launchChromium({ webgpu: true });
    page = await openPage(b);
  });
  afterAll(async () => {
    await b?.close();
  });

  it('auto probes every backend with the MLP, keeps the fastest, trains 5 rounds on MNIST without leaking tensors', async () => {
    const setup = await page.evaluate(() => window.fedwebTest.setup({ pkg: 'mnist-mlp', train: '/data/train.bin', test: '/data/test.bin' }));
    console.log(`[browser] MLP auto: chosen ${setup.report.chosen} ${JSON.stringify(setup.report.candidates)} (probe ${Math.round(setup.probeMs)} ms, WebGPU adapter: ${setup.webgpuAdapter})`);
    expect(setup.crossOriginIsolated).toBe(true);
    expect(setup.numExamples).toBe(300);
    // The package bytes were transferred to the worker, not copied.
    expect(setup.codeDetached).toBe(true);
    const { candidates, chosen } = setup.report;
    expect(Object.keys(candidates).sort()).toEqual(['cpu', 'wasm', 'webgl', 'webgpu']);
    if (setup.webgpuAdapter) expect(candidates.webgpu).toMatch(MEASURED);
    expect(candidates.wasm).toMatch(MEASURED);
    expect(candidates.cpu).toMatch(MEASURED);
    const measured = Object.entries(candidates).filter(([, v]) => MEASURED.test(v!));
    const fastest = measured.reduce((a, c) => (Number.parseFloat(c[1]!) > Number.parseFloat(a[1]!) ? c : a));
    // The fastest mean, or a backend earlier in the preference order within noise of it, which its cell says.
    if (chosen !== fastest[0]) expect(candidates[chosen]).toMatch(new RegExp(`within noise of ${fastest[0]}`));
    expect(setup.backend).toBe(chosen);

    const r = await page.evaluate((s) => window.fedwebTest.rounds({ rounds: 5, settings: s }), settings());
    expect(r.rounds.map((x) => x.shapes)[0]).toEqual([[784, 128], [128], [128, 10], [10]]);
    for (const x of r.rounds) {
      expect(x.numExamples).toBe(300);
      expect(x.progress).toBeGreaterThan(0);
      expect(x.updateBytes).toBeLessThan(x.f32Bytes / 3);
    }
    const counts = r.rounds.map((x) => x.numTensors);
    expect(new Set(counts).size, `worker numTensors per round: ${counts.join(', ')}`).toBe(1);
    expect(r.after.loss).toBeLessThan(r.before.loss! - 0.5);
    expect(r.after.accuracy).toBeGreaterThan(0.6);
    expect(r.predictLen).toBe(10);
    expect(r.predictSum).toBeCloseTo(1, 3);
  });

  it('auto with the CNN: wasm loses on a missing kernel, the fastest of the others trains it', async () => {
    const setup = await page.evaluate(() =>
      window.fedwebTest.setup({ pkg: 'mnist-cnn', train: '/data/small.bin', test: '/data/small.bin' }),
    );
    console.log(`[browser] CNN auto: chosen ${setup.report.chosen} ${JSON.stringify(setup.report.candidates)} (probe ${Math.round(setup.probeMs)} ms)`);
    expect(setup.report.candidates.wasm).toBe('missing kernel Conv2DBackpropFilter');
    expect(setup.report.chosen).not.toBe('wasm');
    expect(setup.report.candidates[setup.report.chosen]).toMatch(MEASURED);
    const r = await page.evaluate((s) => window.fedwebTest.rounds({ rounds: 1, settings: s }), settings());
    expect(r.rounds[0]!.shapes).toEqual([[5, 5, 1, 8], [8], [5, 5, 8, 16], [16], [256, 128], [128], [128, 10], [10]]);
    expect(Number.isFinite(r.after.loss)).toBe(true);
  });

  it('terminating the worker mid-training rejects the pending call (and later ones) with WORKER_DIED', async () => {
    await page.evaluate(() => window.fedwebTest.setup({ pkg: 'mnist-mlp', backend: 'cpu', train: '/data/train.bin', test: '/data/test.bin' }));
    const r = await page.evaluate((s) => window.fedwebTest.killMidTraining(s), settings({ localEpochs: 500 }));
    expect(r.progressed).toBeGreaterThan(0);
    expect(r.outcome.code).toBe('WORKER_DIED');
    expect(r.later.code).toBe('WORKER_DIED');
    expect(r.died.code).toBe('WORKER_DIED');
  });

  it('a worker that crashes (error event) rejects pending calls with WORKER_DIED', async () => {
    const r = await page.evaluate(() => window.fedwebTest.brokenWorker());
    expect(r.code).toBe('WORKER_DIED');
  });

  it('refuses a package whose bytes do not match the manifest hash, across the worker boundary', async () => {
    const r = await page.evaluate(() => window.fedwebTest.hashMismatch());
    expect(r.code).toBe('PACKAGE_INVALID');
    expect(r.message).toMatch(/SHA-256/);
  });
});

describe('worker trainer in headless Chromium, WebGPU off', () => {
  it('auto falls back to the other backends and trains', async () => {
    const b = await launchChromium({ webgpu: false, extraArgs: ['--disable-features=WebGPU'] });
    try {
      const page = await openPage(b);
      const setup = await page.evaluate(() => window.fedwebTest.setup({ pkg: 'mnist-mlp', train: '/data/train.bin', test: '/data/test.bin' }));
      console.log(`[browser] MLP auto, WebGPU off: chosen ${setup.report.chosen} ${JSON.stringify(setup.report.candidates)}`);
      expect(setup.webgpuAdapter).toBe(false);
      expect(setup.report.candidates.webgpu).not.toMatch(MEASURED);
      expect(setup.report.chosen).not.toBe('webgpu');
      expect(['webgl', 'wasm', 'cpu']).toContain(setup.backend);
      const r = await page.evaluate((s) => window.fedwebTest.rounds({ rounds: 1, settings: s }), settings());
      expect(r.after.loss).toBeLessThan(r.before.loss!);
      // Restricting the candidates also keeps a backend out.
      const only = await page.evaluate(() => window.fedwebTest.setup({ pkg: 'mnist-mlp', candidates: ['webgl', 'cpu'], train: '/data/small.bin', test: '/data/small.bin' }));
      expect(only.report.candidates.wasm).toBe('excluded by configuration');
      expect(['webgl', 'cpu']).toContain(only.report.chosen);
    } finally {
      await b.close();
    }
  });
});
