/**
 * The simulation harness's centralized baseline, in the browser: the SAME compute package and trainer
 * (a trainer worker, WebGL where it is fastest) trained on the union of the simulation shards, for as many
 * epochs as the federated run did in all its rounds. Used for models too slow to train in Node
 * (the CNN trains at ~12 examples/s on Node's CPU backend, ~170 on software WebGL here).
 * The harness calls `window.fedwebCentralized(...)` and gets the trained model as an f32 frame.
 */
import { createWorkerTrainer } from '@fedweb/sdk-client';
import type { BackendChoice } from '@fedweb/sdk-client';
import { decodeShard, type ComputePackageManifest } from '@fedweb/codec';
import { trainOnSchedule } from './schedule.js';

export interface CentralizedRequest {
  shards: number[];
  rounds: number;
  epochsPerRound: number;
  batchSize: number;
  learningRate: number;
  /** Per-round learning-rate factor of the federated run (1 = constant). */
  learningRateDecay: number;
  /** Settings extras over the manifest's (e.g. `{ optimizer: 'momentum' }`), as a session's `extra`. */
  extra?: Record<string, unknown>;
  backend: BackendChoice;
}

export interface CentralizedResult {
  /** The trained model as an f32 frame, base64. */
  modelBase64: string;
  numExamples: number;
  trainMs: number;
  backend: string;
  metrics: Record<string, number>;
}

const log = (line: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `${line}\n`;
};

async function get(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function run(req: CentralizedRequest): Promise<CentralizedResult> {
  const active = JSON.parse(new TextDecoder().decode(await get('/api/packages/active'))) as {
    package: { manifest: ComputePackageManifest; bundle: { url: string }; seedModel: { url: string } };
  };
  const code = await get(active.package.bundle.url);
  const seed = await get(active.package.seedModel.url);
  const parts = await Promise.all(req.shards.map(async (k) => decodeShard(new Uint8Array(await get(`/api/sim/shard?index=${k}`)))));
  const n = parts.reduce((a, p) => a + p.meta.n, 0);
  const per = 28 * 28;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * per);
    y.set(p.y, at);
    at += p.meta.n;
  }
  log(`union of ${req.shards.length} shards: ${n} digits; ${req.rounds} x ${req.epochsPerRound} epochs`);
  const { api, terminate } = createWorkerTrainer();
  try {
    await api.init({ backend: req.backend });
    const report = await api.loadPackage(code, active.package.manifest);
    await api.setData({ x, xShape: [28, 28, 1], y, yShape: [] });
    const result = await trainOnSchedule(
      (model, settings) =>
        api.train({ roundId: 'centralized', model, settings }, (p) => {
          if (p.batch === p.batches) log(`epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`);
        }),
      new Uint8Array(seed),
      { ...req, extra: { ...(active.package.manifest.settings ?? {}), ...req.extra } },
    );
    return { modelBase64: toBase64(result.model), numExamples: result.numExamples, trainMs: result.trainMs, backend: report.chosen, metrics: result.metrics };
  } finally {
    await terminate();
  }
}

(window as unknown as { fedwebCentralized: typeof run }).fedwebCentralized = run;
