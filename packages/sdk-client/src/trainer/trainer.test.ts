import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, isFedError, readFrameHeader, type NamedTensor, type TrainSettings } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import * as tf from '@tensorflow/tfjs';
import { createInProcessTrainer, type InProcessTrainerHandle } from './in-process.js';
import { loadMnist } from '../../test/mnist.js';

const dist = (name: string, file: string) => fileURLToPath(new URL(`../../examples/dist/${name}/${file}`, import.meta.url));
function example(name: 'mnist-mlp' | 'mnist-cnn') {
  const code = readFileSync(dist(name, 'package.mjs'));
  return {
    code: () => code.buffer.slice(code.byteOffset, code.byteOffset + code.byteLength) as ArrayBuffer,
    manifest: JSON.parse(readFileSync(dist(name, 'manifest.json'), 'utf8')),
    seed: () => {
      const s = readFileSync(dist(name, 'seed-model.fwf'));
      return s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer;
    },
  };
}
const mlp = example('mnist-mlp');
const settings = (s: Partial<TrainSettings> = {}): TrainSettings => ({ localEpochs: 1, batchSize: 32, learningRate: 0.1, encoding: 'int8', strategy: {}, extra: {}, ...s });
const train = loadMnist(300);
const test = loadMnist(200, 400);
const dataset = () => ({ x: train.x.slice(), xShape: [784], y: train.y.slice(), yShape: [], validation: { x: test.x.slice(), y: test.y.slice() } });
const MLP_LAYOUT = [
  { name: 'w0', shape: [784, 128] },
  { name: 'w1', shape: [128] },
  { name: 'w2', shape: [128, 10] },
  { name: 'w3', shape: [10] },
];

/** Settles `p` into its rejection reason (or null), attaching the handler at once so no rejection goes unhandled. */
function settle(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (err: unknown) => err,
  );
}

async function expectCode(p: Promise<unknown>, code: string) {
  checkCode(await settle(p), code);
}

function checkCode(e: unknown, code: string) {
  expect(e, `expected a FedError ${code}`).not.toBeNull();
  expect(isFedError(e), String(e)).toBe(true);
  expect((e as { code: string }).code).toBe(code);
}

function addInto(global: NamedTensor[], delta: NamedTensor[]): NamedTensor[] {
  return global.map((g, i) => ({ ...g, data: g.data.map((v, j) => v + delta[i]!.data[j]!) }));
}

function norm(ts: NamedTensor[]): number {
  let s = 0;
  for (const t of ts) for (const v of t.data) s += v * v;
  return Math.sqrt(s);
}

describe('in-process trainer (Node) with the MLP package on real MNIST digits', () => {
  let h: InProcessTrainerHandle;
  beforeAll(async () => {
    h = createInProcessTrainer({ probe: { maxMs: 1500 } });
    await h.api.init({ backend: 'auto' });
  });
  afterAll(async () => {
    await h.terminate();
  });

  it('auto picks the fastest backend that trains the model and reports why the others lost', async () => {
    const report = await h.api.loadPackage(mlp.code(), mlp.manifest);
    expect(report.cached).toBe(false);
    expect(Object.keys(report.candidates).sort()).toEqual(['cpu', 'wasm']);
    // Three to six interleaved passes each: a geometric mean and its 95% interval.
    for (const v of Object.values(report.candidates)) expect(v).toMatch(/^\d+(\.\d)? ex\/s \(95% CI \d+(\.\d)?-\d+(\.\d)?, [3-6] runs\)/);
    const speed = (b: 'wasm' | 'cpu') => Number.parseFloat(report.candidates[b]!);
    // The faster mean wins, unless wasm (earlier in the preference order) is within noise of cpu, which its cell says.
    if (report.chosen === 'cpu') expect(speed('cpu')).toBeGreaterThan(speed('wasm'));
    else expect(speed('wasm') >= speed('cpu') || /within noise of cpu/.test(report.candidates.wasm!)).toBe(true);
    expect(await h.api.setData(dataset())).toEqual({ numExamples: 300 });
  });

  it('trains a round whose update decodes to the model layout and lowers the held-out loss', async () => {
    const seedFrame = mlp.seed();
    const global = await decodeFrame(new Uint8Array(seedFrame));
    const before = await h.api.validate(mlp.seed());
    const r = await h.api.train({ roundId: 'r1', model: seedFrame, settings: settings({ localEpochs: 2 }) });
    expect(r.numExamples).toBe(300);
    expect(r.f32Bytes).toBe(4 * 101770);
    const header = readFrameHeader(new Uint8Array(r.update));
    expect(header.compressed).toBe(true);
    expect(header.tensors.map((t) => t.encoding)).toEqual(['int8', 'int8', 'int8', 'int8']);
    const delta = await decodeFrame(new Uint8Array(r.update), { compressor: nodeZlibCompressor, expect: MLP_LAYOUT });
    expect(delta.map((t) => ({ name: t.name, shape: t.shape }))).toEqual(MLP_LAYOUT);
    expect(norm(delta)).toBeGreaterThan(0);
    // int8 + deflate is much smaller than raw f32.
    expect(r.update.byteLength).toBeLessThan(r.f32Bytes / 3);
    const next = await encodeFrame(addInto(global, delta));
    const after = await h.api.validate(next.buffer as ArrayBuffer);
    expect(r.metrics.loss).toBeGreaterThan(0);
    expect(after.numExamples).toBe(200);
    expect(after.metrics.loss).toBeLessThan(before.metrics.loss! - 0.3);
    expect(after.metrics.accuracy).toBeGreaterThan(before.metrics.accuracy! + 0.3);
  });

  it('reports progress with the loss of the batch', async () => {
    const seen: { batch: number; batches: number; loss: number }[] = [];
    await h.api.train({ roundId: 'r2', model: mlp.seed(), settings: settings() }, (p) => seen.push(p));
    expect(seen.length).toBeGreaterThan(0);
    const last = seen[seen.length - 1]!;
    expect(last.batch).toBe(last.batches);
    expect(last.batches).toBe(Math.ceil(300 / 32));
    expect(Number.isFinite(last.loss)).toBe(true);
  });

  it('the FedProx term pulls the local model toward the global one', async () => {
    const plain = await h.api.train({ roundId: 'p0', model: mlp.seed(), settings: settings({ encoding: 'f32', localEpochs: 2 }) });
    const prox = await h.api.train({ roundId: 'p1', model: mlp.seed(), settings: settings({ encoding: 'f32', localEpochs: 2, strategy: { mu: 5 } }) });
    const n0 = norm(await decodeFrame(new Uint8Array(plain.update), { compressor: nodeZlibCompressor }));
    const n1 = norm(await decodeFrame(new Uint8Array(prox.update), { compressor: nodeZlibCompressor }));
    // With μ = 5 and η = 0.1 each step shrinks (w − w_global) by half before the data gradient: a much smaller delta.
    expect(n1).toBeLessThan(0.6 * n0);
  });

  it('SCAFFOLD sends Δc_i = −c − Δy/(Kη) next to the weight deltas and keeps c_i⁺', async () => {
    const c = MLP_LAYOUT.map((s) => ({ name: `c/${s.name}`, shape: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.01) }));
    const cFrame = await encodeFrame(c);
    const r = await h.api.train({
      roundId: 's1',
      model: mlp.seed(),
      settings: settings({ encoding: 'f32', strategy: { scaffold: { version: 1, controlPrefix: 'c/' } } }),
      strategyTensors: cFrame.buffer as ArrayBuffer,
    });
    const tensors = await decodeFrame(new Uint8Array(r.update), { compressor: nodeZlibCompressor });
    expect(tensors.map((t) => t.name)).toEqual(['w0', 'w1', 'w2', 'w3', 'c/w0', 'c/w1', 'c/w2', 'c/w3']);
    const K = Math.ceil(300 / 32);
    const eta = 0.1;
    for (let i = 0; i < 4; i++) {
      const dy = tensors[i]!.data;
      const dc = tensors[4 + i]!.data;
      for (const j of [0, 1, Math.floor(dy.length / 2), dy.length - 1]) expect(dc[j]).toBeCloseTo(-0.01 - dy[j]! / (K * eta), 4);
    }
    // c_i⁺ = c_i + Δc_i with c_i = 0 at first.
    const ci = new Float32Array(r.controlVariate!);
    expect(ci.length).toBe(101770);
    expect(ci[5]).toBeCloseTo(tensors[4]!.data[5]!, 6);
    expect(r.f32Bytes).toBe(2 * 4 * 101770);
  });

  it('top-k updates carry an error-feedback residual that the next round adds back', async () => {
    const r1 = await h.api.train({ roundId: 't1', model: mlp.seed(), settings: settings({ encoding: 'topk', topkFraction: 0.05 }) });
    const header = readFrameHeader(new Uint8Array(r1.update));
    expect(header.tensors.map((t) => t.encoding)).toEqual(['topk', 'topk', 'topk', 'topk']);
    expect(header.tensors[0]!.encoding === 'topk' && header.tensors[0]!.k).toBe(Math.round(784 * 128 * 0.05));
    const res = new Float32Array(r1.residual!);
    expect(res.length).toBe(101770);
    const sent = await decodeFrame(new Uint8Array(r1.update), { compressor: nodeZlibCompressor });
    // Where an entry was sent, the residual there is only its int8 rounding error; elsewhere it is the whole delta.
    const w0 = sent[0]!.data;
    let unsent = 0;
    for (let j = 0; j < w0.length; j++) if (w0[j] === 0 && res[j] !== 0) unsent++;
    expect(unsent).toBeGreaterThan(w0.length * 0.5);
    // A persisted residual passed in is used: a huge residual on one entry forces that entry into the next update.
    const forced = new Float32Array(101770);
    forced[123] = 1000;
    const r2 = await h.api.train({ roundId: 't2', model: mlp.seed(), settings: settings({ encoding: 'topk', topkFraction: 0.05 }), residual: forced.buffer });
    const d2 = await decodeFrame(new Uint8Array(r2.update), { compressor: nodeZlibCompressor });
    expect(d2[0]!.data[123]).toBeGreaterThan(900);
  });

  it('refuses a model frame whose shapes differ from the package model with SHAPE_MISMATCH', async () => {
    const wrong = await encodeFrame([
      { name: 'w0', shape: [784, 64], data: new Float32Array(784 * 64) },
      { name: 'w1', shape: [64], data: new Float32Array(64) },
      { name: 'w2', shape: [64, 10], data: new Float32Array(640) },
      { name: 'w3', shape: [10], data: new Float32Array(10) },
    ]);
    await expectCode(h.api.train({ roundId: 'x', model: wrong.buffer as ArrayBuffer, settings: settings() }), 'SHAPE_MISMATCH');
    await expectCode(h.api.validate(wrong.buffer as ArrayBuffer), 'SHAPE_MISMATCH');
  });

  it('rejects bad data and bad settings with typed errors', async () => {
    await expectCode(h.api.setData({ x: new Float32Array(10), xShape: [784], y: new Int32Array(1), yShape: [] }), 'SHAPE_MISMATCH');
    await expectCode(h.api.train({ roundId: 'x', model: mlp.seed(), settings: { ...settings(), batchSize: 0 } }), 'BAD_CONFIG');
  });

  it('abort() rejects the running round with ABORTED and the trainer keeps working', async () => {
    const running = settle(h.api.train({ roundId: 'a1', model: mlp.seed(), settings: settings({ localEpochs: 200 }) }));
    await new Promise((r) => setTimeout(r, 200));
    await h.api.abort('test');
    checkCode(await running, 'ABORTED');
    const ok = await h.api.train({ roundId: 'a2', model: mlp.seed(), settings: settings() });
    expect(ok.numExamples).toBe(300);
  });

  it('disposes every tensor: tf.memory().numTensors does not grow across 5 rounds', async () => {
    let model = mlp.seed();
    const counts: number[] = [];
    for (let round = 0; round < 5; round++) {
      const r = await h.api.train({ roundId: `m${round}`, model, settings: settings({ strategy: { mu: 0.01 } }) });
      const global = await decodeFrame(new Uint8Array(model));
      const delta = await decodeFrame(new Uint8Array(r.update), { compressor: nodeZlibCompressor });
      model = (await encodeFrame(addInto(global, delta))).buffer as ArrayBuffer;
      await h.api.validate(model);
      await h.api.predict(model, test.x.slice(0, 784), [784]);
      counts.push((await h.api.memory()).numTensors);
    }
    expect(counts[0]).toBeGreaterThan(0);
    expect(new Set(counts).size, `numTensors per round: ${counts.join(', ')}`).toBe(1);
  });

  it('predicts class probabilities for one digit', async () => {
    const p = await h.api.predict(mlp.seed(), test.x.slice(0, 784), [784]);
    expect(p.length).toBe(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });
});

describe('cached backend decisions', () => {
  it('a cached report is reused without probing and comes back marked cached', async () => {
    const h = createInProcessTrainer();
    try {
      const cachedReport = { chosen: 'cpu' as const, candidates: { wasm: '100 ex/s', cpu: '900 ex/s' }, cached: false };
      await h.api.init({ backend: 'auto', cachedReport });
      const report = await h.api.loadPackage(mlp.code(), mlp.manifest);
      expect(report).toEqual({ ...cachedReport, cached: true });
      expect(tf.getBackend()).toBe('cpu');
    } finally {
      await h.terminate();
    }
  });
});

describe('compute package verification', () => {
  it('refuses a package whose SHA-256 differs from the manifest with PACKAGE_INVALID, before running it', async () => {
    const h = createInProcessTrainer();
    try {
      await h.api.init({ backend: 'cpu' });
      // Same length, one byte changed: only the hash can tell.
      const bytes = new Uint8Array(mlp.code());
      const tampered = new TextEncoder().encode(`globalThis.__fedwebEvil = 1;\n`);
      const evil = new Uint8Array(bytes.length);
      evil.set(bytes);
      evil.set(tampered.subarray(0, Math.min(tampered.length, evil.length)));
      await expectCode(h.api.loadPackage(evil.buffer, mlp.manifest), 'PACKAGE_INVALID');
      expect((globalThis as { __fedwebEvil?: number }).__fedwebEvil).toBeUndefined();
      await expectCode(h.api.loadPackage(mlp.code(), { ...mlp.manifest, sha256: 'f'.repeat(64) }), 'PACKAGE_INVALID');
      await expectCode(h.api.loadPackage(mlp.code(), { ...mlp.manifest, bytes: 1 }), 'PACKAGE_INVALID');
      await expectCode(h.api.train({ roundId: 'r', model: mlp.seed(), settings: settings() }), 'CONFLICT');
    } finally {
      await h.terminate();
    }
  });

  it('pending calls reject with WORKER_DIED after terminate()', async () => {
    const h = createInProcessTrainer();
    await h.api.init({ backend: 'cpu' });
    await h.api.loadPackage(mlp.code(), mlp.manifest);
    await h.api.setData(dataset());
    const running = settle(h.api.train({ roundId: 'd', model: mlp.seed(), settings: settings({ localEpochs: 100 }) }));
    await new Promise((r) => setTimeout(r, 100));
    await h.terminate();
    checkCode(await running, 'WORKER_DIED');
    await expectCode(h.api.memory(), 'WORKER_DIED');
  });
});

describe('backend selection with the CNN package (Node)', () => {
  it('auto skips wasm (no Conv2DBackpropFilter kernel) and trains the CNN on cpu', async () => {
    const cnn = example('mnist-cnn');
    const h = createInProcessTrainer({ probe: { batchSize: 8, maxMs: 1500, minSteps: 1 } });
    try {
      await h.api.init({ backend: 'auto' });
      const report = await h.api.loadPackage(cnn.code(), cnn.manifest);
      expect(report.candidates.wasm).toBe('missing kernel Conv2DBackpropFilter');
      expect(report.candidates.cpu).toMatch(/ex\/s \(95% CI .*, [3-6] runs\)$/);
      expect(report.chosen).toBe('cpu');
      // The failed wasm probe must not leave tfjs' gradient tape recording every later op.
      expect((tf.engine() as unknown as { state: { activeTape: unknown } }).state.activeTape).toBeNull();
      const small = loadMnist(40);
      await h.api.setData({ x: small.x, xShape: [784], y: small.y, yShape: [] });
      const r = await h.api.train({ roundId: 'c1', model: cnn.seed(), settings: settings({ batchSize: 20 }) });
      const delta = await decodeFrame(new Uint8Array(r.update), { compressor: nodeZlibCompressor });
      expect(delta.map((t) => t.shape)).toEqual([[5, 5, 1, 8], [8], [5, 5, 8, 16], [16], [256, 128], [128], [128, 10], [10]]);
      // The package's own validate() ran (it reports accuracy too).
      const v = await h.api.validate(cnn.seed());
      expect(Object.keys(v.metrics).sort()).toEqual(['accuracy', 'loss']);
      // A fixed backend that cannot train the model fails with a typed error, not a hang.
      const w = createInProcessTrainer();
      await w.api.init({ backend: 'wasm' });
      await w.api.loadPackage(cnn.code(), cnn.manifest);
      await w.api.setData({ x: small.x.slice(), xShape: [28, 28, 1], y: small.y.slice(), yShape: [] });
      await expectCode(w.api.train({ roundId: 'c2', model: cnn.seed(), settings: settings() }), 'BACKEND_UNAVAILABLE');
      await w.terminate();
    } finally {
      await h.terminate();
    }
  });
});
