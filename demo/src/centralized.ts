/**
 * The simulation harness's centralized baseline, in the browser: the SAME compute package and trainer
 * (a trainer worker, WebGL where it is fastest) trained on the union of the simulation shards, for as many
 * epochs as the federated run did in all its rounds. Used for models too slow to train in Node
 * (the CNN trains at ~12 examples/s on Node's CPU backend, ~170 on software WebGL here).
 * The harness calls `window.fedwebCentralized(...)` and gets the trained model as an f32 frame.
 */
import { createWorkerTrainer } from '@fedweb/sdk-client';
import { decodeShard, requestBytes } from '@fedweb/codec';
import { ApiClient, toBase64 } from '@fedweb/server/client';
import { trainCentralized, type CentralizedRequest, type CentralizedResult } from './centralized-core.js';

const log = (line: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `${line}\n`;
};

const api = new ApiClient({ baseUrl: '', timeoutMs: 60_000 });
const get = async (url: string): Promise<Uint8Array> => requestBytes({ url, timeoutMs: 120_000, maxBytes: 512 * 1024 * 1024 });

async function run(req: CentralizedRequest): Promise<CentralizedResult> {
  const active = await api.activePackage();
  const code = await get(active.bundle.url);
  if (!active.seedModel) throw new Error('the active package has no seed model');
  const seed = await get(active.seedModel.url);
  const parts = await Promise.all(req.shards.map(async (k) => decodeShard(await get(`/api/sim/shard?index=${k}`))));
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
  const { api: trainer, terminate } = createWorkerTrainer();
  try {
    const r = await trainCentralized(trainer, { code: code.slice().buffer, manifest: active.manifest, seed, x, y, backend: req.backend }, req, (p) => {
      if (p.batch === p.batches) log(`epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`);
    });
    return { modelBase64: toBase64(r.model), numExamples: r.numExamples, trainMs: r.trainMs, backend: r.backend, metrics: r.metrics };
  } finally {
    await terminate();
  }
}

(window as unknown as { fedwebCentralized: typeof run }).fedwebCentralized = run;
