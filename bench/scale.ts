/**
 * `npm run bench -- scale`: what adding a combiner costs, measured in CPU rather than wall clock (on 2 shared
 * cores wall-clock scaling cannot show). Writes `bench/results/scale.json`:
 *  - cpu_ms_per_update_1 / _2: process CPU time (user + system) of the combiner process(es) per folded
 *    1M-parameter int8 + deflate update, with 1 and with 2 `fedweb combiner` processes sharing the same client
 *    load (simulated clients in this process; the controller runs no combiner). Measured from the session's
 *    start (all clients online, after a 1-round warm-up session) to its end, so it includes task dispatch, reassembly, SHA-256, inflate, the fold
 *    and the partial's encode and upload. cpu_per_update_ratio = _2 / _1 (goal <= 1.1).
 *  - updates_per_s: per combiner, updates folded / (its last update - round start), median over rounds.
 *  - controller_merge_ms: the controller's reduce of K = 1, 2, 4, 8 partials of 1M parameters: decode each
 *    f32 + deflate partial frame and merge them (FedAvg's weighted-sum merge), median of 5, in this process.
 *  - store_ratio: updates_per_s on PostgreSQL + S3 over SQLite + folder, only with `--store-args '<server
 *    flags>'` (e.g. `--state postgres://... --blobs s3://...`); null otherwise, with the reason.
 * Options: `--quick` (fewer clients), `--rounds N` (default 3), `--store-args '...'`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient, type StartSessionInput } from '@fedweb/server/client';
import { makeTestPackage, writePackageDir } from '@fedweb/server/testing';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { decodePartial, encodePartial, getStrategy } from '../packages/server/src/strategy/index.js';
import type { PartialAggregate, StrategyContext } from '../packages/server/src/strategy/types.js';
import { connectUploaders, cpuMs, makeUpdateFrames, median, round1, round3, runSessionToEnd, startStack, stopStack, waitOnline, resultsHeader, writeResults } from './_fleet.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' }, 'store-args': { type: 'string' } },
  strict: true,
});
const ROUNDS = Math.max(2, Number(values.rounds));
const CLIENTS = values.quick ? 60 : 200;
const PARAMS = 1_000_000;
const LAYOUT = [{ name: 'w0', shape: [1000, 1000] }];
const UPLOAD_CONCURRENCY = 32;
const VARIANTS = 8;
const LOAD_AT_START = round1(loadavg()[0] ?? NaN);

console.log(`scale bench: ${PARAMS.toLocaleString()} params, ${CLIENTS} clients x ${ROUNDS} rounds, 1 vs 2 combiner processes`);
const work = await mkdtemp(join(tmpdir(), 'fedweb-bench-scale-'));
const pkgDir = join(work, 'pkg');
await writePackageDir(pkgDir, await makeTestPackage({ layout: LAYOUT, name: 'bench-1m' }));
const { frames } = await makeUpdateFrames(LAYOUT, VARIANTS);

interface Run {
  combiners: number;
  updates: number;
  cpu_ms: number[];
  cpu_ms_per_update: number;
  updates_per_s_per_combiner: number;
  rounds: number;
  load_avg_1m: number;
}

const session = (rounds: number): StartSessionInput => ({ rounds, clientsRequired: 1, roundTimeoutMs: 600_000, encoding: 'int8' });

/** One session with `combiners` external combiner processes; CPU of the combiners over the session. */
async function measure(combiners: number, serverArgs: string[] = []): Promise<Run> {
  const stack = await startStack({ work, pkgDir, externalCombiners: combiners, serverArgs });
  const conns = await connectUploaders(stack.url, CLIENTS, { layout: LAYOUT, frames, concurrency: UPLOAD_CONCURRENCY });
  const api = new ApiClient({ baseUrl: stack.url });
  try {
    await waitOnline(api, CLIENTS);
    // A warm-up session first (JIT, the package and model fetched once per process), not measured: steady state.
    await runSessionToEnd(api, session(1));
    const pids = stack.combiners.map((c) => c.child.pid);
    const before = pids.map(cpuMs);
    const rounds = await runSessionToEnd(api, session(ROUNDS));
    const used = pids.map((pid, i) => cpuMs(pid) - (before[i] as number));
    const committed = rounds.filter((r) => r.status === 'committed');
    const updates = committed.reduce((n, r) => n + r.updates, 0);
    const rates = committed.flatMap((r) => r.partials.map((p) => (p.count * 1000) / Math.max(1, (p.lastUpdateAt ?? r.startedAt) - r.startedAt)));
    const run: Run = {
      combiners,
      updates,
      cpu_ms: used,
      cpu_ms_per_update: round3(used.reduce((a, b) => a + b, 0) / updates),
      updates_per_s_per_combiner: round1(median(rates)),
      rounds: committed.length,
      load_avg_1m: round1(loadavg()[0] ?? NaN),
    };
    console.log(`${combiners} combiner process(es): ${run.cpu_ms_per_update} CPU ms per update (${updates} updates), ${run.updates_per_s_per_combiner} updates/s per combiner`);
    return run;
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await stopStack(stack);
  }
}

/** The controller's decode + merge of K partials of 1M parameters (f32 + deflate frames, as combiners send them). */
async function mergeMs(k: number): Promise<{ decode_ms: number; merge_ms: number; total_ms: number }> {
  const strategy = getStrategy('fedavg');
  const ctx: StrategyContext = { sessionId: 'bench', round: 1, layout: LAYOUT, paramCount: PARAMS, seed: 1 };
  const encoded = [];
  for (let i = 0; i < k; i++) {
    const sum = new Float32Array(PARAMS);
    for (let j = 0; j < PARAMS; j++) sum[j] = Math.sin(i * 7 + j) * 0.1;
    const partial: PartialAggregate = { count: 100, weight: 1000 + i, tensors: { sum }, scalars: {} };
    encoded.push(await encodePartial(partial, { compressor: nodeZlibCompressor }));
  }
  const decodes: number[] = [];
  const merges: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    const partials = [];
    for (const e of encoded) partials.push(await decodePartial(e, { compressor: nodeZlibCompressor, tensorLength: PARAMS }));
    const t1 = performance.now();
    partials.reduce((acc, p) => strategy.mergePartials(undefined, acc, p, ctx));
    merges.push(performance.now() - t1);
    decodes.push(t1 - t0);
  }
  const out = { decode_ms: round1(median(decodes)), merge_ms: round1(median(merges)), total_ms: round1(median(decodes.map((d, i) => d + (merges[i] as number)))) };
  console.log(`controller reduce of ${k} partial(s): ${out.total_ms} ms (decode ${out.decode_ms}, merge ${out.merge_ms})`);
  return out;
}

const one = await measure(1);
const two = await measure(2);
const merge: Record<string, { decode_ms: number; merge_ms: number; total_ms: number }> = {};
for (const k of [1, 2, 4, 8]) merge[String(k)] = await mergeMs(k);

const storeArgs = values['store-args']?.split(/\s+/).filter(Boolean);
const stores = storeArgs ? await measure(1, storeArgs) : null;
const ratio = round3(two.cpu_ms_per_update / one.cpu_ms_per_update);
const out = {
  ...resultsHeader('scale', LOAD_AT_START, PARAMS, frames[0]!.byteLength),
  clients: CLIENTS,
  rounds_per_run: ROUNDS,
  cpu_ms_per_update_1: one.cpu_ms_per_update,
  cpu_ms_per_update_2: two.cpu_ms_per_update,
  cpu_per_update_ratio: ratio,
  controller_merge_ms: Object.fromEntries(Object.entries(merge).map(([k, v]) => [k, v.total_ms])),
  updates_per_s: { combiners_1: one.updates_per_s_per_combiner, combiners_2: two.updates_per_s_per_combiner },
  store_ratio: stores ? round3(stores.updates_per_s_per_combiner / one.updates_per_s_per_combiner) : null,
  ...(stores
    ? { store_ratio_detail: { store_args: storeArgs, updates_per_s_sqlite_folder: one.updates_per_s_per_combiner, updates_per_s_stores: stores.updates_per_s_per_combiner } }
    : { store_ratio_note: "not measured: run with --store-args '--state postgres://... --blobs s3://...' once the PostgreSQL and S3 stores are in (they are built on another branch of issue 13)" }),
  targets: { cpu_per_update_ratio_le_1_1: ratio <= 1.1 },
  detail: { runs: [one, two, ...(stores ? [stores] : [])], controller_merge: merge },
  notes: [
    'CPU time is utime + stime of each combiner process from /proc/<pid>/stat (what process.cpuUsage reads inside it; 10 ms ticks), summed over the combiners, divided by the updates the committed rounds counted.',
    'The simulated clients (this process) and the controller share the same cores; CPU time per update does not depend on how busy the machine is the way wall-clock rates do, but cache and scheduler effects of a loaded machine still show. Read it with machine.load_avg_1m_*.',
    'controller_merge_ms is decode (inflate + f32 decode + finiteness check) plus the example-weighted merge of K partials, measured in this process; the server step, the model encode and the commit come after it and do not depend on K.',
  ],
};
writeResults('scale', out);
await rm(work, { recursive: true, force: true });
console.log(`cpu_per_update_ratio (2 / 1): ${ratio}; wrote bench/results/scale.json`);
process.exit(0);
