/**
 * Test page for the worker trainer: exposes `window.fedwebTest`, driven by `worker.browser.test.ts` through
 * playwright. Packages come from `/pkg/<name>/`, MNIST digits from `/data/<name>.bin` (see `packMnist`).
 */
import { decodeFrame, encodeFrame, isFedError, type TrainSettings } from '@fedweb/codec';
import { createWorkerTrainer, type WorkerTrainerHandle } from '../../../src/trainer/worker-client.js';
import type { BackendChoice, BackendName, BackendReport } from '../../../src/trainer/api.js';

async function bytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.arrayBuffer();
}

async function mnist(url: string): Promise<{ x: Float32Array; y: Int32Array; n: number }> {
  const b = await bytes(url);
  const n = new DataView(b).getUint32(0, true);
  return { n, x: new Float32Array(b.slice(4, 4 + n * 784 * 4)), y: new Int32Array(b.slice(4 + n * 784 * 4)) };
}

const errorInfo = (e: unknown) => ({ code: isFedError(e) ? e.code : 'NOT_A_FED_ERROR', message: e instanceof Error ? e.message : String(e) });

let handle: WorkerTrainerHandle | null = null;
let pkgName = '';
let testData: { x: Float32Array; y: Int32Array } | null = null;

const api = {
  async setup(o: { pkg: string; backend?: BackendChoice; candidates?: BackendName[]; train: string; test: string; probe?: unknown }) {
    if (handle) await handle.terminate();
    handle = createWorkerTrainer();
    pkgName = o.pkg;
    await handle.api.init({ backend: o.backend ?? 'auto', ...(o.candidates ? { candidates: o.candidates } : {}) });
    const code = await bytes(`/pkg/${o.pkg}/package.mjs`);
    const manifest = await (await fetch(`/pkg/${o.pkg}/manifest.json`)).json();
    const t0 = performance.now();
    const report: BackendReport = await handle.api.loadPackage(code, manifest);
    const probeMs = performance.now() - t0;
    const d = await mnist(o.train);
    const t = await mnist(o.test);
    testData = { x: t.x, y: t.y };
    const set = await handle.api.setData({ x: d.x, xShape: [784], y: d.y, yShape: [], validation: { x: t.x.slice(), y: t.y.slice() } });
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    return { report, probeMs, backend: await handle.api.backend(), numExamples: set.numExamples, webgpuAdapter: !!adapter, codeDetached: code.byteLength === 0, crossOriginIsolated };
  },

  /** Trains `rounds` rounds, applying each decoded update to the global model, validating before and after. */
  async rounds(o: { rounds: number; settings: TrainSettings }) {
    if (!handle) throw new Error('setup first');
    let model = await bytes(`/pkg/${pkgName}/seed-model.fwf`);
    const before = await handle.api.validate(model.slice(0));
    const out: { numExamples: number; loss: number; updateBytes: number; f32Bytes: number; numTensors: number; trainMs: number; progress: number; shapes: number[][] }[] = [];
    for (let r = 0; r < o.rounds; r++) {
      let progress = 0;
      const global = await decodeFrame(new Uint8Array(model));
      const res = await handle.api.train({ roundId: `r${r}`, model: model.slice(0), settings: o.settings }, () => progress++);
      const delta = await decodeFrame(new Uint8Array(res.update));
      const next = global.map((g, i) => ({ ...g, data: g.data.map((v, j) => v + delta[i]!.data[j]!) }));
      model = (await encodeFrame(next)).buffer as ArrayBuffer;
      const mem = await handle.api.memory();
      out.push({ numExamples: res.numExamples, loss: res.metrics.loss ?? NaN, updateBytes: res.update.byteLength, f32Bytes: res.f32Bytes, numTensors: mem.numTensors, trainMs: res.trainMs, progress, shapes: delta.map((t) => t.shape) });
    }
    const after = await handle.api.validate(model.slice(0));
    const probs = await handle.api.predict(model.slice(0), testData!.x.slice(0, 784), [784]);
    return { before: before.metrics, after: after.metrics, rounds: out, predictSum: probs.reduce((a, b) => a + b, 0), predictLen: probs.length };
  },

  /** Starts a long round, terminates the worker at the first progress report, returns how the pending call ended. */
  async killMidTraining(settings: TrainSettings) {
    if (!handle) throw new Error('setup first');
    const h = handle;
    const model = await bytes(`/pkg/${pkgName}/seed-model.fwf`);
    let resolveFirst!: () => void;
    const first = new Promise<void>((r) => (resolveFirst = r));
    let progressed = 0;
    const pending = h.api.train({ roundId: 'kill', model, settings }, () => {
      progressed++;
      resolveFirst();
    });
    const memoryCall = h.api.memory(); // resolves or rejects; either way it must not hang
    await first;
    await h.terminate();
    const outcome = await pending.then(() => ({ code: 'RESOLVED', message: '' }), errorInfo);
    const later = await h.api.memory().then(() => ({ code: 'RESOLVED', message: '' }), errorInfo);
    await memoryCall.catch(() => undefined);
    const died = await h.died;
    handle = null;
    return { outcome, later, progressed, died: errorInfo(died) };
  },

  /** A worker whose script throws on load: the error event must reject the pending call with WORKER_DIED. */
  async brokenWorker() {
    const blob = new Blob(['throw new Error("boom at load")'], { type: 'text/javascript' });
    const h = createWorkerTrainer({ worker: new Worker(URL.createObjectURL(blob), { type: 'module' }) });
    return h.api.memory().then(() => ({ code: 'RESOLVED', message: '' }), errorInfo);
  },

  async hashMismatch() {
    const h = createWorkerTrainer();
    try {
      await h.api.init({ backend: 'cpu' });
      const code = new Uint8Array(await bytes(`/pkg/${pkgName || 'mnist-mlp'}/package.mjs`));
      code[code.length - 2] = code[code.length - 2]! ^ 1;
      const manifest = await (await fetch(`/pkg/${pkgName || 'mnist-mlp'}/manifest.json`)).json();
      return await h.api.loadPackage(code.buffer, manifest).then(() => ({ code: 'RESOLVED', message: '' }), errorInfo);
    } finally {
      await h.terminate();
    }
  },
};

declare global {
  interface Window {
    fedwebTest: typeof api;
  }
}
window.fedwebTest = api;
document.getElementById('status')!.textContent = 'ready';
