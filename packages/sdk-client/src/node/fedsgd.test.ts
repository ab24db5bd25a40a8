/**
 * FedSGD (gradient mode) in the SDK: the trainer sends the gradient at the global model instead of a trained
 * delta (checked against the server's reference gradient of the same logistic regression), and Node FedClients
 * against a real server learn MNIST with the `fedsgd` strategy (int8 gradients, server Adam).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, flattenTensors, type TrainSettings } from '@fedweb/codec';
import { startServer } from '@fedweb/server';
import { evaluateLogreg, logregGradient } from '../../../server/src/strategy/logreg.js';
import { buildComputePackage } from '../build/build.js';
import { createInProcessTrainer } from '../trainer/in-process.js';
import { loadMnist } from '../../test/mnist.js';
import { FedClient } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'fedweb-fedsgd-'));
const pkgDir = join(root, 'logreg');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

// Multinomial logistic regression: the server's reference model (w0 [784, 10], w1 [10]) as a tfjs package.
beforeAll(async () => {
  writeFileSync(
    join(root, 'logreg.ts'),
    `export const meta = { inputShape: [784], numClasses: 10, description: 'MNIST logistic regression', settings: { localEpochs: 1, batchSize: 32, learningRate: 0.1 } };
export function createModel(tf) {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [784], units: 10, activation: 'softmax' }));
  return m;
}
`,
  );
  await buildComputePackage({ entry: join(root, 'logreg.ts'), outDir: pkgDir, name: 'mnist-logreg' });
}, 120_000);

const buf = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const settings = (fedsgd: unknown): TrainSettings => ({ localEpochs: 1, batchSize: 150, learningRate: 0.1, encoding: 'f32', strategy: { fedsgd }, extra: {} });

describe('FedSGD client: the update is the gradient at the global model', () => {
  it('mean of two batches covering the data = the full-data gradient; sum = twice that (reference: server logregGradient)', async () => {
    const { api, terminate } = createInProcessTrainer();
    cleanups.push(terminate);
    await api.init({ backend: 'cpu' });
    await api.loadPackage(buf(readFileSync(join(pkgDir, 'package.mjs'))), JSON.parse(readFileSync(join(pkgDir, 'manifest.json'), 'utf8')));
    const digits = loadMnist(300);
    await api.setData({ x: digits.x.slice(), xShape: [784], y: digits.y.slice(), yShape: [] });
    const seed = readFileSync(join(pkgDir, 'seed-model.fwf'));
    const params = flattenTensors(await decodeFrame(new Uint8Array(seed)));
    const expected = new Float32Array(params.length);
    logregGradient(params, { ...digits, n: 300 }, Array.from({ length: 300 }, (_, i) => i), expected);

    for (const [reduce, factor] of [['mean', 1], ['sum', 2]] as const) {
      const r = await api.train({ roundId: `r-${reduce}`, model: buf(seed), settings: settings({ version: 1, batches: 2, reduce }) });
      expect(r.numExamples).toBe(300);
      const got = flattenTensors(await decodeFrame(new Uint8Array(r.update)));
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - factor * expected[i]!));
      expect(worst, `${reduce}: largest difference from ${factor} x the reference gradient`).toBeLessThan(1e-4);
    }
    // A malformed block is refused with BAD_CONFIG, not trained on.
    await expect(api.train({ roundId: 'bad', model: buf(seed), settings: settings({ version: 2, batches: 1, reduce: 'mean' }) })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });
});

describe('FedSGD with Node clients against a real server', () => {
  it('3 non-overlapping clients reach > 75% held-out accuracy in 8 rounds of int8 gradients (server Adam)', async () => {
    const server = await startServer({ dataDir: join(root, 'server'), port: 0, host: '127.0.0.1', computePackage: { dir: pkgDir }, logger: false, heartbeatMs: 2000, waitPollMs: 100 });
    cleanups.push(() => server.close());
    const errors: string[] = [];
    const clients = [0, 1, 2].map((i) => {
      const d = loadMnist(200, i * 20);
      const c = new FedClient({ server: server.url, id: `sgd-${i}`, cache: false, backend: 'cpu', data: { load: () => ({ x: d.x, xShape: [784], y: d.y, yShape: [] }) }, logger: { warn: () => {} } });
      c.on('error', (e) => errors.push(`${i}: ${e.code} ${e.message}`));
      cleanups.push(() => c.stop());
      return c;
    });
    await Promise.all(clients.map((c) => c.start()));
    const end = Date.now() + 30_000;
    while ((server.registry.list()[0]?.clients.size ?? 0) < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const session = await server.controller.startSession({
      rounds: 8,
      roundTimeoutMs: 60_000,
      batchSize: 100,
      learningRate: 0.1,
      encoding: 'int8',
      validate: false,
      strategy: { name: 'fedsgd', options: { optimizer: 'adam', lr: 0.02, batches: 0 } },
    });
    const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 240_000);
    expect(errors).toEqual([]);
    expect(done.status).toBe('completed');
    const detail = await server.controller.getSession(session.id);
    expect(detail.rounds.map((r) => [r.status, r.updates])).toEqual(Array.from({ length: 8 }, () => ['committed', 3]));
    const trail = await server.controller.modelTrail(session.id);
    const res = await fetch(`${server.url}/api/models/${encodeURIComponent(trail.at(-1)!.id)}`);
    const model = flattenTensors(await decodeFrame(new Uint8Array(await res.arrayBuffer())));
    const held = loadMnist(500, 700);
    const before = evaluateLogreg(flattenTensors(await decodeFrame(new Uint8Array(readFileSync(join(pkgDir, 'seed-model.fwf'))))), { ...held, n: 500 });
    const after = evaluateLogreg(model, { ...held, n: 500 });
    console.info(`[fedsgd] held-out accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)}, loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}`);
    expect(after.accuracy).toBeGreaterThan(0.75);
    expect(after.loss).toBeLessThan(before.loss);
  });
});
