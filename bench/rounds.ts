/**
 * `npm run bench -- rounds`: federated rounds with simulated Node clients that return precomputed
 * int8 + deflate updates of a 1M-parameter model (no training), against `fedweb server` / `fedweb combiner`
 * child processes on this machine. Writes `bench/results/rounds.json`.
 *
 * Measured per configuration (median over >= 3 rounds, from the server's own round records):
 *  - round_overhead_ms: last update folded by any combiner -> new global model committed (reduce, server step,
 *    f32 encode, fsynced blob write, SQLite commit);
 *  - updates_per_s: updates folded per combiner / (its last update - round start);
 *  - peak_rss_mb: VmHWM of the server process (controller + embedded combiner).
 * combiner_scaling = aggregate updates/s with 2 external combiner processes / with 1 (same clients).
 *
 * Options: `--quick` (10/100/300 clients, 120 clients for scaling), `--rounds N` (default 3),
 * `--only clients|scaling` (rerun one part, keep the other from the existing results file).
 */
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { ApiClient, type RoundView } from '@fedweb/server/client';
import { makeTestPackage, writePackageDir } from '@fedweb/server/testing';
import { combinerRate, foldBench } from './_rounds-fold.js';
import { measureTurnaround, TURNAROUND_KEYS } from './rounds-turnaround.js';
import { connectUploaders, here, makeUpdateFrames, median, peakRssMb, round1, runSessionToEnd, startStack as startFleet, stopStack, waitOnline, writeResults, type Stack } from './_fleet.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' }, only: { type: 'string' } },
  strict: true,
});
/** `--only clients` or `--only scaling` reruns one part and keeps the other part of an existing results file. */
const ONLY = values.only;
if (ONLY !== undefined && ONLY !== 'clients' && ONLY !== 'scaling') throw new Error('--only takes clients or scaling');
const ROUNDS = Math.max(3, Number(values.rounds));
const CLIENT_COUNTS = values.quick ? [10, 100, 300] : [10, 100, 1000];
const SCALING_CLIENTS = values.quick ? 120 : 300;
const PARAMS = 1_000_000;
const LAYOUT = [{ name: 'w0', shape: [1000, 1000] }];
/** Uploads in flight at once from this process (clients of a real deployment finish training at different times). */
const UPLOAD_CONCURRENCY = 64;
const VARIANTS = 8;

const LOAD_AT_START = Math.round((loadavg()[0] ?? NaN) * 10) / 10;

// ---------------------------------------------------------------- fixtures: seed model + precomputed updates
console.log(`rounds bench: ${PARAMS.toLocaleString()} params, clients ${CLIENT_COUNTS.join('/')}, ${ROUNDS} rounds each, ${cpus().length} cores`);
const work = await mkdtemp(join(tmpdir(), 'fedweb-bench-rounds-'));
const pkgDir = join(work, 'pkg');
await writePackageDir(pkgDir, await makeTestPackage({ layout: LAYOUT, name: 'bench-1m' }));
const { frames } = await makeUpdateFrames(LAYOUT, VARIANTS);
const updateBytes = frames[0]!.byteLength;
console.log(`update frame: ${(updateBytes / 1e6).toFixed(3)} MB (int8 + deflate of ${(PARAMS * 4) / 1e6} MB f32)`);

const startStack = (externalCombiners: number): Promise<Stack> => startFleet({ work, pkgDir, externalCombiners });

type RoundRec = RoundView;

async function runSession(url: string, clients: number, rounds: number): Promise<RoundRec[]> {
  const conns = await connectUploaders(url, clients, { layout: LAYOUT, frames, concurrency: UPLOAD_CONCURRENCY, metrics: { loss: 1 } });
  try {
    // Every client is online on a combiner before the session starts.
    const api = new ApiClient({ baseUrl: url });
    await waitOnline(api, clients);
    return await runSessionToEnd(api, { rounds, clientsRequired: 1, roundTimeoutMs: 600_000, encoding: 'int8' }, 250);
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
}

const previous = ((): Record<string, any> | null => {
  try {
    return JSON.parse(readFileSync(here('./results/rounds.json'), 'utf8')) as Record<string, any>;
  } catch {
    return null;
  }
})();
if (ONLY && !previous) throw new Error('--only needs an existing bench/results/rounds.json');
const results: Array<Record<string, unknown>> = ONLY === 'scaling' ? (previous?.results ?? []) : [];
for (const n of ONLY === 'scaling' ? [] : CLIENT_COUNTS) {
  const stack = await startStack(0);
  const t0 = Date.now();
  const rounds = await runSession(stack.url, n, ROUNDS);
  const rss = peakRssMb(stack.server.child.pid);
  await stopStack(stack);
  const committed = rounds.filter((r) => r.status === 'committed' && r.lastUpdateAt !== null && r.committedAt !== null);
  if (committed.length < 3) throw new Error(`only ${committed.length} committed rounds at ${n} clients`);
  // Last update folded -> commit transaction done (committedAt is when it began; timings.commit its duration).
  const overheads = committed.map((r) => (r.committedAt as number) + (r.timings.commit ?? 0) - (r.lastUpdateAt as number));
  const rates = committed.map((r) => {
    const p = r.partials[0]!;
    return (p.count * 1000) / Math.max(1, (p.lastUpdateAt as number) - r.startedAt);
  });
  const row = {
    clients: n,
    params: PARAMS,
    rounds: committed.length,
    updates_per_round: median(committed.map((r) => r.updates)),
    round_overhead_ms: round1(median(overheads)),
    round_overhead_ms_each: overheads,
    round_overhead_breakdown_ms: committed.map((r) => r.timings),
    updates_per_s: round1(median(rates)),
    round_ms: round1(median(committed.map((r) => (r.committedAt as number) - r.startedAt))),
    peak_rss_mb: round1(rss),
    wall_s: round1((Date.now() - t0) / 1000),
    load_avg_1m: round1(loadavg()[0] ?? NaN),
  };
  console.log(
    `${String(n).padStart(5)} clients: overhead ${row.round_overhead_ms} ms, ${row.updates_per_s} updates/s per combiner, round ${row.round_ms} ms, peak RSS ${row.peak_rss_mb} MB`,
  );
  results.push(row);
}

// ---------------------------------------------------------------- combiner scaling: 1 vs 2 external combiner processes
let scaling: Record<string, unknown> = ONLY === 'clients' ? { ...(previous?.combiner_scaling_detail ?? {}) } : {};
for (const k of ONLY === 'clients' ? [] : [1, 2]) {
  const stack = await startStack(k);
  const rounds = await runSession(stack.url, SCALING_CLIENTS, ROUNDS);
  const rss = [stack.server, ...stack.combiners].map((p) => round1(peakRssMb(p.child.pid)));
  await stopStack(stack);
  const committed = rounds.filter((r) => r.status === 'committed' && r.lastUpdateAt !== null);
  const agg = committed.map((r) => (r.updates * 1000) / Math.max(1, (r.lastUpdateAt as number) - r.startedAt));
  const per = committed.map((r) => r.partials.map((p) => round1((p.count * 1000) / Math.max(1, (p.lastUpdateAt as number) - r.startedAt))));
  scaling[`combiners_${k}`] = { updates_per_s: round1(median(agg)), per_combiner_updates_per_s: per, peak_rss_mb: rss, rounds: committed.length, load_avg_1m: round1(loadavg()[0] ?? NaN) };
  console.log(`${k} combiner process(es), ${SCALING_CLIENTS} clients: ${round1(median(agg))} updates/s in aggregate`);
}
const one = (scaling.combiners_1 as { updates_per_s: number }).updates_per_s;
const two = (scaling.combiners_2 as { updates_per_s: number }).updates_per_s;
const combinerScaling = Math.round((two / one) * 100) / 100;
if (ONLY !== 'clients') scaling = { clients: SCALING_CLIENTS, ...scaling };

// Bytes both ways and round turnaround with 10 Node SDK clients (bench/rounds-turnaround.ts); `--only` keeps the previous ones.
const turnaround = ONLY ? Object.fromEntries(TURNAROUND_KEYS.map((k) => [k, previous?.[k] ?? null])) : await measureTurnaround({ work });
const byClients = (n: number) => results.find((r) => r.clients === n) as { peak_rss_mb: number; round_overhead_ms: number } | undefined;
const smallest = byClients(CLIENT_COUNTS[0]!);
const largest = byClients(CLIENT_COUNTS[CLIENT_COUNTS.length - 1]!);
const at100 = byClients(100);
const fold = { ...combinerRate(results), ...(await foldBench(LAYOUT, frames)) }; // keys documented in _rounds-fold.ts
const out = {
  bench: 'rounds',
  date: new Date().toISOString(),
  machine: { load_avg_1m_at_end: round1(loadavg()[0] ?? NaN), load_avg_1m_at_start: LOAD_AT_START, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, total_mem_gb: round1(totalmem() / 2 ** 30), free_mem_gb: round1(freemem() / 2 ** 30) },
  params: PARAMS,
  update_encoding: 'int8 (block 256) + deflate (node:zlib level 6)',
  update_bytes: updateBytes,
  upload_concurrency: UPLOAD_CONCURRENCY,
  ...fold,
  results,
  ...turnaround,
  combiner_scaling: combinerScaling,
  combiner_scaling_detail: scaling,
  ratios: {
    peak_rss_largest_vs_smallest: smallest && largest ? Math.round((largest.peak_rss_mb / smallest.peak_rss_mb) * 100) / 100 : null,
  },
  targets: {
    round_overhead_ms_at_100_clients_le_1000: at100 ? at100.round_overhead_ms <= 1000 : null,
    clients_1000_on_one_combiner: CLIENT_COUNTS.includes(1000),
    combiner_scaling_ge_1_8: combinerScaling >= 1.8,
  },
  notes: [
    'Clients, controller and combiners all run on this machine and share its cores; the simulated clients (this process) push every update over loopback WebSockets.',
    'The machine is shared with other work: machine.load_avg_1m_* says how busy it was; with a load above the core count every figure here is slower than on an idle machine.',
    `The client side limits uploads in flight to ${UPLOAD_CONCURRENCY} (real clients finish training at different times); the server never waits for it.`,
    'updates_per_s counts from round.start to the last update folded, so it includes task dispatch, upload transfer, SHA-256, inflate and the fold.',
    'combiner_scaling: one combiner is one JS thread (unmask, SHA-256 and the fold loop on it; inflate on the libuv pool), so a second process can use the second core; but on 2 cores the simulated clients and the controller compete for the same cores, and when the machine is loaded by other work the OS gives each process a fair share, which flatters a 2-process setup. Read it with load_avg_1m.',
  ],
};
writeResults('rounds', out);
await rm(work, { recursive: true, force: true });
console.log(`combiner_scaling (2 processes / 1): ${combinerScaling}`);
console.log('wrote bench/results/rounds.json');
process.exit(0);
