/**
 * Benchmark page for `bench/client.ts`: the same model and batches trained (a) with raw tfjs on this page's
 * main thread and (b) through the worker trainer (`createWorkerTrainer`, FedClient's path), per backend.
 * Exposes `window.fedwebBench`; packages come from `/pkg/<name>/`, MNIST digits from `/data/train.bin`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { TrainSettings } from '@fedweb/codec';
import * as Comlink from 'comlink';
import { createWorkerTrainer, type WorkerTrainerHandle } from '../../../src/trainer/worker-client.js';
import { rawTrain } from './raw-loop.js';
import type { RawWorker } from './raw-worker.js';
import { wasmAssetUrls } from '../../../src/trainer/wasm-assets.js';
import type { BackendName } from '../../../src/trainer/api.js';
import type { ComputePackageModule, Model } from '../../../src/package/types.js';

setWasmPaths(wasmAssetUrls());

async function bytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.arrayBuffer();
}

let all: { x: Float32Array; y: Int32Array; n: number } | null = null;
async function mnist() {
  if (!all) {
    const b = await bytes('/data/train.bin');
    const n = new DataView(b).getUint32(0, true);
    all = { n, x: new Float32Array(b.slice(4, 4 + n * 784 * 4)), y: new Int32Array(b.slice(4 + n * 784 * 4)) };
  }
  return all;
}

function take(n: number): { x: Float32Array; y: Int32Array } {
  const d = all!;
  if (n > d.n) throw new Error(`only ${d.n} digits served`);
  return { x: d.x.slice(0, n * 784), y: d.y.slice(0, n) };
}

interface State {
  pkg: string;
  module: ComputePackageModule;
  manifest: { settings: Record<string, unknown>; inputShape?: number[] };
  seed: ArrayBuffer;
  model: Model | null;
  seedWeights: tf.Tensor[] | null;
  worker: WorkerTrainerHandle | null;
  rawWorker: { api: Comlink.Remote<RawWorker>; worker: Worker } | null;
}
let st: State | null = null;

const api = {
  async load(pkg: string) {
    await mnist();
    const code = await bytes(`/pkg/${pkg}/package.mjs`);
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    const module = (await import(/* @vite-ignore */ url)) as ComputePackageModule;
    URL.revokeObjectURL(url);
    const manifest = await (await fetch(`/pkg/${pkg}/manifest.json`)).json();
    st = { pkg, module, manifest, seed: await bytes(`/pkg/${pkg}/seed-model.fwf`), model: null, seedWeights: null, worker: null, rawWorker: null };
    return { digits: all!.n };
  },

  /** Activates `backend` on the main thread and in a fresh worker; false when it cannot initialise here. */
  async setBackend(backend: BackendName): Promise<{ ok: boolean; reason?: string }> {
    const s = st!;
    api.teardown();
    let ok = false;
    try {
      ok = await tf.setBackend(backend);
    } catch (e) {
      return { ok: false, reason: String(e) };
    }
    if (!ok) return { ok: false, reason: 'failed to initialise' };
    await tf.ready();
    s.model = await s.module.createModel(tf, s.manifest.settings);
    s.seedWeights = s.model.getWeights().map((w) => w.clone());
    s.worker = createWorkerTrainer();
    await s.worker.api.init({ backend });
    await s.worker.api.loadPackage(await bytes(`/pkg/${s.pkg}/package.mjs`), s.manifest as never);
    const w = new Worker(new URL('./raw-worker.ts', import.meta.url), { type: 'module' });
    s.rawWorker = { worker: w, api: Comlink.wrap<RawWorker>(w) };
    if (!(await s.rawWorker.api.setup(await bytes(`/pkg/${s.pkg}/package.mjs`), s.manifest.settings, backend))) return { ok: false, reason: 'failed to initialise in a bare worker' };
    const d = all!;
    await s.rawWorker.api.setData(d.x.slice(), d.y.slice());
    return { ok: true };
  },

  /** Raw tfjs on the main thread: SGD steps over shuffled batches of the first `n` digits. Returns ms. */
  raw: (n: number, batchSize: number, learningRate: number): Promise<number> => rawTrain(tf, st!.model!, st!.seedWeights!, all!, n, batchSize, learningRate),

  /** The same plain loop in a bare worker (no fedweb). Returns ms. */
  rawWorker: (n: number, batchSize: number, learningRate: number): Promise<number> => st!.rawWorker!.api.raw(n, batchSize, learningRate),

  /** The worker path: one `train()` round on the first `n` digits, timed from the page. */
  async setWorkerData(n: number) {
    const { x, y } = take(n);
    await st!.worker!.api.setData({ x, xShape: [784], y, yShape: [] });
  },

  async worker(batchSize: number, learningRate: number): Promise<{ ms: number; trainMs: number; updateBytes: number; f32Bytes: number; numExamples: number; numTensors: number }> {
    const s = st!;
    const settings: TrainSettings = { localEpochs: 1, batchSize, learningRate, encoding: 'int8', strategy: {}, extra: {} };
    const t0 = performance.now();
    const r = await s.worker!.api.train({ roundId: 'bench', model: s.seed.slice(0), settings }, () => undefined);
    const ms = performance.now() - t0;
    const mem = await s.worker!.api.memory();
    return { ms, trainMs: r.trainMs, updateBytes: r.update.byteLength, f32Bytes: r.f32Bytes, numExamples: r.numExamples, numTensors: mem.numTensors };
  },

  mainThreadTensors: () => tf.memory().numTensors,

  teardown() {
    const s = st;
    if (!s) return;
    void s.worker?.terminate();
    s.worker = null;
    s.rawWorker?.worker.terminate();
    s.rawWorker = null;
    s.model?.dispose();
    s.model = null;
    if (s.seedWeights) tf.dispose(s.seedWeights);
    s.seedWeights = null;
  },
};

declare global {
  interface Window {
    fedwebBench: typeof api;
  }
}
window.fedwebBench = api;
document.getElementById('status')!.textContent = 'ready';
