/**
 * `npm run bench -- client`: worker overhead of the fedweb client trainer, per tfjs backend, in headless Chromium.
 *
 * For each backend that initialises, the same model and batches (real MNIST digits, SGD, batch 32) are trained
 * (a) with raw tfjs on the page's main thread (the baseline, measured in the same run) and (b) through the worker
 * path FedClient uses (`createWorkerTrainer().api.train()`, timed from the page: model transfer, training, delta,
 * int8 + deflate encoding and the transfer back all count). A third, diagnostic path runs the raw loop in a bare
 * worker (no fedweb), separating what a worker costs by itself (WebGL on an OffscreenCanvas ...) from what the
 * trainer adds. Runs alternate raw / raw-in-worker / worker, `--repeats` times each.
 * The headline speeds use the fastest run of each path (the shared 2-core machine runs other jobs: the minimum of
 * alternating runs estimates the undisturbed time, as `timeit` does); medians are reported beside them.
 *
 * Writes `bench/results/client.json` = `{ results: [ { model, backend, examples_per_s_raw, examples_per_s_worker,
 * worker_overhead, upload_bytes, upload_ratio_vs_f32, tf_memory_tensors_after_5_rounds, ... } ] }`.
 * Target: worker_overhead <= 0.05, and no tensor leak across rounds.
 *
 * Options: `--repeats N` (default 5), `--seconds S` per measured run (default 2), `--models mnist-mlp,mnist-cnn`,
 * `--cnn-webgpu` (the CNN on software WebGPU trains at ~8 ex/s: skipped unless asked).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildPage, launchChromium, packMnist, serveStatic } from '../packages/sdk-client/test/browser.js';
import { loadMnist } from '../packages/sdk-client/test/mnist.js';
import type { BackendName } from '../packages/sdk-client/src/trainer/api.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const REPEATS = Number(arg('repeats', '5'));
const SECONDS = Number(arg('seconds', '2'));
const MODELS = arg('models', 'mnist-mlp,mnist-cnn').split(',');
const CNN_WEBGPU = process.argv.includes('--cnn-webgpu');
const BATCH = 32;
const LR = 0.1;
const DIGITS = 4096;

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

interface Row {
  model: string;
  backend: BackendName;
  examples: number;
  examples_per_s_raw: number;
  examples_per_s_worker: number;
  worker_overhead: number;
  examples_per_s_raw_in_worker: number;
  worker_overhead_vs_raw_in_worker: number;
  examples_per_s_raw_median: number;
  examples_per_s_worker_median: number;
  worker_overhead_median: number;
  upload_bytes: number;
  f32_bytes: number;
  upload_ratio_vs_f32: number;
  tf_memory_tensors_after_1_round: number;
  tf_memory_tensors_after_5_rounds: number;
  raw_ms: number[];
  raw_in_worker_ms: number[];
  worker_ms: number[];
}

const started = Date.now();
const page = await buildPage(here('../packages/sdk-client/test/pages/bench'));
const routes: Record<string, Uint8Array | { file: string }> = { '/data/train.bin': packMnist(loadMnist(DIGITS)) };
for (const pkg of ['mnist-mlp', 'mnist-cnn']) {
  for (const f of ['package.mjs', 'manifest.json', 'seed-model.fwf']) routes[`/pkg/${pkg}/${f}`] = { file: here(`../packages/sdk-client/examples/dist/${pkg}/${f}`) };
}
const server = await serveStatic(page.dir, routes);
// No background throttling of timers or renderers: the page's main thread must not be slowed down for the baseline.
const browser = await launchChromium({ webgpu: true, extraArgs: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'] });
const results: Row[] = [];
const skipped: string[] = [];
try {
  const p = await browser.newPage();
  await p.goto(`${server.origin}/index.html`);
  await p.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  for (const model of MODELS) {
    await p.evaluate((m) => window.fedwebBench.load(m), model);
    const backends: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
    for (const backend of backends) {
      if (model === 'mnist-cnn' && backend === 'webgpu' && !CNN_WEBGPU) {
        skipped.push(`${model}/${backend}: skipped (~8 ex/s on software WebGPU; pass --cnn-webgpu)`);
        continue;
      }
      if (model === 'mnist-cnn' && backend === 'wasm') {
        skipped.push(`${model}/${backend}: cannot train it (missing kernel Conv2DBackpropFilter)`);
        continue;
      }
      const ok = await p.evaluate((b) => window.fedwebBench.setBackend(b), backend);
      if (!ok.ok) {
        skipped.push(`${model}/${backend}: ${ok.reason}`);
        continue;
      }
      // Warm-up (shader compilation, wasm instantiation) on both paths, then size the runs from the raw speed.
      await p.evaluate(() => window.fedwebBench.raw(64, 32, 0.1));
      await p.evaluate(() => window.fedwebBench.rawWorker(64, 32, 0.1));
      await p.evaluate(() => window.fedwebBench.setWorkerData(64));
      await p.evaluate(() => window.fedwebBench.worker(32, 0.1));
      const calMs = await p.evaluate(() => window.fedwebBench.raw(128, 32, 0.1));
      const rate = 128 / (calMs / 1000);
      const n = Math.max(4 * BATCH, Math.min(DIGITS, Math.round((rate * SECONDS) / BATCH) * BATCH));
      await p.evaluate((k) => window.fedwebBench.setWorkerData(k), n);
      const rawMs: number[] = [];
      const rawWorkerMs: number[] = [];
      const workerMs: number[] = [];
      const tensors: number[] = [];
      let last = { updateBytes: 0, f32Bytes: 0, numExamples: 0 };
      for (let r = 0; r < Math.max(REPEATS, 5); r++) {
        if (r < REPEATS) rawMs.push(await p.evaluate(([k, b, lr]) => window.fedwebBench.raw(k, b, lr), [n, BATCH, LR] as const));
        if (r < REPEATS) rawWorkerMs.push(await p.evaluate(([k, b, lr]) => window.fedwebBench.rawWorker(k, b, lr), [n, BATCH, LR] as const));
        const w = await p.evaluate(([b, lr]) => window.fedwebBench.worker(b, lr), [BATCH, LR] as const);
        if (r < REPEATS) workerMs.push(w.ms);
        tensors.push(w.numTensors);
        last = w;
      }
      const raw = n / (Math.min(...rawMs) / 1000);
      const worker = last.numExamples / (Math.min(...workerMs) / 1000);
      const rawInWorker = n / (Math.min(...rawWorkerMs) / 1000);
      const rawMedian = n / (median(rawMs) / 1000);
      const workerMedian = last.numExamples / (median(workerMs) / 1000);
      const row: Row = {
        model,
        backend,
        examples: n,
        examples_per_s_raw: round(raw, 1),
        examples_per_s_worker: round(worker, 1),
        worker_overhead: round(1 - worker / raw),
        examples_per_s_raw_in_worker: round(rawInWorker, 1),
        worker_overhead_vs_raw_in_worker: round(1 - worker / rawInWorker),
        examples_per_s_raw_median: round(rawMedian, 1),
        examples_per_s_worker_median: round(workerMedian, 1),
        worker_overhead_median: round(1 - workerMedian / rawMedian),
        upload_bytes: last.updateBytes,
        f32_bytes: last.f32Bytes,
        upload_ratio_vs_f32: round(last.updateBytes / last.f32Bytes, 4),
        tf_memory_tensors_after_1_round: tensors[0]!,
        tf_memory_tensors_after_5_rounds: tensors[4]!,
        raw_ms: rawMs.map((x) => round(x, 1)),
        raw_in_worker_ms: rawWorkerMs.map((x) => round(x, 1)),
        worker_ms: workerMs.map((x) => round(x, 1)),
      };
      results.push(row);
      console.log(
        `${model.padEnd(10)} ${backend.padEnd(7)} n=${String(n).padStart(4)}  raw ${row.examples_per_s_raw.toFixed(0).padStart(6)} ex/s  worker ${row.examples_per_s_worker.toFixed(0).padStart(6)} ex/s  overhead ${(row.worker_overhead * 100).toFixed(1).padStart(5)}% (median ${(row.worker_overhead_median * 100).toFixed(1)}%; raw in a bare worker ${row.examples_per_s_raw_in_worker.toFixed(0)} ex/s, fedweb vs it ${(row.worker_overhead_vs_raw_in_worker * 100).toFixed(1)}%)  upload ${row.upload_bytes} B (${(row.upload_ratio_vs_f32 * 100).toFixed(1)}% of f32)  tensors ${row.tf_memory_tensors_after_1_round} -> ${row.tf_memory_tensors_after_5_rounds}`,
      );
    }
    await p.evaluate(() => window.fedwebBench.teardown());
  }
} finally {
  await browser.close();
  await server.close();
  page.remove();
}

mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/client.json'), `${JSON.stringify({ results }, null, 2)}\n`);
for (const s of skipped) console.log(`skipped ${s}`);
const worst = results.reduce((a, r) => Math.max(a, r.worker_overhead), -Infinity);
const leaks = results.filter((r) => r.tf_memory_tensors_after_5_rounds !== r.tf_memory_tensors_after_1_round);
console.log(`worst worker_overhead ${(worst * 100).toFixed(1)}% (target <= 5%); tensor leaks: ${leaks.length ? leaks.map((r) => `${r.model}/${r.backend}`).join(', ') : 'none'}; ${((Date.now() - started) / 1000).toFixed(0)} s; wrote bench/results/client.json`);

// `window.fedwebBench` is typed where the page defines it (packages/sdk-client/test/pages/bench/main.ts).
