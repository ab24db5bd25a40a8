/**
 * Part of `npm run bench -- rounds` (issue 15, points 1 and 4): bytes both ways and round turnaround with real
 * Node SDK clients (FedClient: discovery, WebSocket, file cache, delta downloads, chunked uploads) against a
 * `fedweb server` child process, on a 1.7M-parameter dense model. Only training is replaced: each client's trainer
 * returns a precomputed int8 + deflate update at once (turnaround does not include training anyway).
 *
 * Keys (delta downloads, the default; the same run with `downloads: 'full'` is the baseline):
 *  - download_ratio_vs_f32: model bytes downloaded per client per round after round 1 / float32 model size;
 *  - total_ratio_vs_f32: (bytes up + bytes down) per client per round after round 1 / (2 x float32 model size);
 *  - turnaround_ms: last update received (the server's round record) -> every client holds the next round's model
 *    (the clients' `model` events: with delta downloads, prefetched as soon as the model commits), median over
 *    rounds 2..N;
 *  - commit_ms: last update received -> model committed (commit transaction included), median.
 *
 * Standalone: `npx tsx bench/rounds-turnaround.ts [--rounds N]` merges these keys into bench/results/rounds.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiClient, type RoundView } from '@fedweb/server/client';
import { makeTestPackage, writePackageDir } from '@fedweb/server/testing';
import { createRng, decodeFrame, encodeFrame, type TensorSpec } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { FedClient, type ModelEvent, type RoundEvent, type TrainerHandle } from '@fedweb/sdk-client/node';
import { here, median, round1, round3, runSessionToEnd, startStack, stopStack, waitOnline, writeResults } from './_fleet.js';

/** The keys {@link measureTurnaround} adds to rounds.json. */
export const TURNAROUND_KEYS = ['download_ratio_vs_f32', 'total_ratio_vs_f32', 'turnaround_ms', 'commit_ms', 'turnaround_detail'] as const;

/** A dense 784-1024-896-10 network: 1,731,210 parameters. */
export const TURNAROUND_LAYOUT: TensorSpec[] = [
  { name: 'w0', shape: [784, 1024] },
  { name: 'w1', shape: [1024] },
  { name: 'w2', shape: [1024, 896] },
  { name: 'w3', shape: [896] },
  { name: 'w4', shape: [896, 10] },
  { name: 'w5', shape: [10] },
];
const PARAMS = TURNAROUND_LAYOUT.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
const F32_BYTES = 4 * PARAMS;

/**
 * Client updates for the 1.7M layout built from a real one: the MNIST MLP client delta of `bench/fixtures`
 * (784-128-10, 20 batches of SGD from a trained global model; bench/make-codec-fixture.ts). Each variant tiles
 * its tensors over the larger layout (input rows keep their structure: pixels that are always 0 get no change),
 * in a seeded column order with seeded signs; the hidden 1024x896 matrix draws from the real hidden-layer values.
 * Real deltas are heavy-tailed, which is what int8 + deflate meets in a deployment (synthetic bell-shaped deltas
 * compress worse: ~0.24 of f32 against ~0.18 for real ones in bench/codec).
 */
async function realisticUpdateFrames(variants: number): Promise<Uint8Array[]> {
  const real = await decodeFrame(new Uint8Array(readFileSync(here('./fixtures/mlp-delta.fwf'))));
  const [w0, b0, w1, b1] = real.map((t) => t.data) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const frames: Uint8Array[] = [];
  for (let v = 0; v < variants; v++) {
    const rng = createRng(`turnaround-${v}`);
    const sign = () => (rng.next() < 0.5 ? -1 : 1);
    const tile = (src: Float32Array, rows: number, srcCols: number, cols: number): Float32Array => {
      const out = new Float32Array(rows * cols);
      for (let c = 0; c < cols; c++) {
        const from = rng.int(srcCols);
        const s = sign();
        for (let r = 0; r < rows; r++) out[r * cols + c] = s * src[r * srcCols + from]!;
      }
      return out;
    };
    const draw = (src: Float32Array, n: number): Float32Array => Float32Array.from({ length: n }, () => sign() * src[rng.int(src.length)]!);
    // w4 [896, 10]: the real 128x10 output rows, repeated down the 896 rows.
    const w4 = new Float32Array(896 * 10);
    for (let r = 0; r < 896; r++) w4.set(w1.subarray((r % 128) * 10, (r % 128) * 10 + 10), r * 10);
    const data = [tile(w0, 784, 128, 1024), draw(b0, 1024), draw(w1, 1024 * 896), draw(b0, 896), w4, draw(b1, 10)];
    frames.push(await encodeFrame(TURNAROUND_LAYOUT.map((t, i) => ({ ...t, data: data[i]! })), { encoding: 'int8', compressor: nodeZlibCompressor }));
  }
  return frames;
}

/** A trainer that answers every task with one of the precomputed update frames (no tfjs). */
function benchTrainer(frames: Uint8Array[], id: number): () => TrainerHandle {
  return () => {
    let examples = 0;
    let calls = 0;
    return {
      terminate() {},
      api: {
        init: async () => {},
        loadPackage: async () => ({ chosen: 'cpu', candidates: { cpu: 'bench' }, cached: false }),
        setData: async (d) => ((examples = d.y.length), { numExamples: examples }),
        train: async () => {
          const frame = frames[(id + calls++) % frames.length]!;
          return { update: frame.slice().buffer, numExamples: examples, metrics: { loss: 1 }, trainMs: 1, f32Bytes: F32_BYTES };
        },
        validate: async () => ({ numExamples: examples, metrics: {} }),
        predict: async () => new Float32Array(10),
        abort: async () => {},
        memory: async () => ({ numTensors: 0, numBytes: 0 }),
        dispose: async () => {},
      },
    };
  };
}

function fail(message: string): never {
  throw new Error(message);
}

interface ModeResult {
  downloads: 'delta' | 'full';
  rounds: number;
  download_ratio_vs_f32: number;
  upload_ratio_vs_f32: number;
  total_ratio_vs_f32: number;
  turnaround_ms: number;
  commit_ms: number;
  turnaround_ms_each: number[];
  commit_ms_each: number[];
  via: Record<string, number>;
}

async function runMode(work: string, pkgDir: string, frames: Uint8Array[], mode: 'delta' | 'full', clients: number, rounds: number): Promise<ModeResult> {
  const stack = await startStack({ work, pkgDir, externalCombiners: 0 });
  // Per client, its model events in order: the k-th is the model of round k+1 (a prefetch names no round).
  const models: ModelEvent[][] = Array.from({ length: clients }, () => []);
  const trained: RoundEvent[] = [];
  const fed = Array.from({ length: clients }, (_, i) => {
    const c = new FedClient({
      server: stack.url,
      id: `bench-${i}`,
      cache: join(work, `${mode}-client-${i}`),
      trainer: benchTrainer(frames, i),
      data: { load: () => ({ x: new Float32Array(784 * 4), xShape: [784], y: new Int32Array(4), yShape: [] }) },
      logger: { warn: (m) => console.warn(m) },
    });
    c.on('model', (e) => models[i]!.push(e));
    c.on('round', (e) => e.phase === 'trained' && trained.push(e));
    return c;
  });
  let views: RoundView[];
  try {
    await Promise.all(fed.map((c) => c.start()));
    const api = new ApiClient({ baseUrl: stack.url });
    await waitOnline(api, clients);
    views = await runSessionToEnd(api, { rounds, clientsRequired: clients, roundTimeoutMs: 300_000, encoding: 'int8', downloads: mode }, 100);
  } finally {
    await Promise.all(fed.map((c) => c.stop()));
    await stopStack(stack);
  }
  const byRound = <E extends { roundId: string }>(events: E[], r: RoundView): E[] => events.filter((e) => e.roundId === r.id);
  const modelOf = (i: number): ModelEvent[] => models.map((events, c) => events[i] ?? fail(`client ${c} holds no model for round ${i + 1}`));
  const later = views.slice(1);
  const down = later.flatMap((_, i) => modelOf(i + 1)).reduce((n, e) => n + e.bytes, 0) / (clients * later.length);
  const up = later.flatMap((r) => byRound(trained, r)).reduce((n, e) => n + (e.bytes ?? 0), 0) / (clients * later.length);
  // Round r's last update in -> the last client holding round r+1's model (prefetched, or fetched for the task).
  const turnaround = views.slice(0, -1).map((r, i) => Math.max(...modelOf(i + 1).map((e) => e.at)) - (r.lastUpdateAt as number));
  const commit = views.map((r) => (r.committedAt as number) + (r.timings['commit'] ?? 0) - (r.lastUpdateAt as number));
  const via: Record<string, number> = {};
  for (const e of models.flat()) {
    const how = e.prefetch ? `prefetch ${e.via}` : e.via;
    via[how] = (via[how] ?? 0) + 1;
  }
  const res: ModeResult = {
    downloads: mode,
    rounds: views.length,
    download_ratio_vs_f32: round3(down / F32_BYTES),
    upload_ratio_vs_f32: round3(up / F32_BYTES),
    total_ratio_vs_f32: round3((up + down) / (2 * F32_BYTES)),
    turnaround_ms: round1(median(turnaround)),
    commit_ms: round1(median(commit)),
    turnaround_ms_each: turnaround,
    commit_ms_each: commit,
    via,
  };
  console.log(`  downloads=${mode}: down ${res.download_ratio_vs_f32} of f32, up+down ${res.total_ratio_vs_f32}, turnaround ${res.turnaround_ms} ms, commit ${res.commit_ms} ms (${JSON.stringify(via)})`);
  return res;
}

/**
 * Runs the delta session and its full-download baseline; returns the rounds.json keys.
 * @example
 * ```ts
 * Object.assign(out, await measureTurnaround({ work }));
 * ```
 */
export async function measureTurnaround(opts: { work: string; rounds?: number; clients?: number }): Promise<Record<string, unknown>> {
  const rounds = Math.max(4, opts.rounds ?? 5);
  const clients = opts.clients ?? 10;
  console.log(`turnaround: ${PARAMS.toLocaleString()} params, ${clients} Node SDK clients, ${rounds} rounds, delta vs full downloads`);
  const pkgDir = join(opts.work, 'pkg-turnaround');
  await writePackageDir(pkgDir, await makeTestPackage({ layout: TURNAROUND_LAYOUT, name: 'bench-1.7m' }));
  const frames = await realisticUpdateFrames(4);
  console.log(`update frame: ${(frames[0]!.byteLength / F32_BYTES).toFixed(3)} of f32`);
  const load = loadavg()[0] ?? NaN;
  const delta = await runMode(opts.work, pkgDir, frames, 'delta', clients, rounds);
  const full = await runMode(opts.work, pkgDir, frames, 'full', clients, rounds);
  return {
    download_ratio_vs_f32: delta.download_ratio_vs_f32,
    total_ratio_vs_f32: delta.total_ratio_vs_f32,
    turnaround_ms: delta.turnaround_ms,
    commit_ms: delta.commit_ms,
    turnaround_detail: {
      params: PARAMS,
      clients,
      load_avg_1m_at_start: round1(load),
      load_avg_1m_at_end: round1(loadavg()[0] ?? NaN),
      delta,
      full_baseline: full,
      turnaround_full_vs_delta: round3(full.turnaround_ms / delta.turnaround_ms),
      goals: { download_ratio_le_0_20: delta.download_ratio_vs_f32 <= 0.2, total_ratio_le_0_20: delta.total_ratio_vs_f32 <= 0.2, turnaround_le_360_ms: delta.turnaround_ms <= 360 },
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } }, strict: true });
  const work = await mkdtemp(join(tmpdir(), 'fedweb-bench-turnaround-'));
  try {
    const keys = await measureTurnaround({ work, rounds: Number(values.rounds) });
    const file = here('./results/rounds.json');
    const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : { bench: 'rounds' };
    writeResults('rounds', { ...previous, ...keys });
    console.log('merged the turnaround keys into bench/results/rounds.json');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.exit(0);
}
