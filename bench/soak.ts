/**
 * `npm run bench -- soak`: load and soak. Writes `bench/results/soak.json`.
 *
 * Churn soak: 1,000 simulated clients x 20 rounds on one `fedweb combiner` process, then split over two; each
 * client returns a precomputed int8 + deflate update of a 100k-parameter model; after every commit a random
 * number (0-30) of idle clients leave and a random number (0-30) of new ones join. Counted per round:
 *  - updates_expected: updates the combiners acknowledged (`update.ack`), i.e. promised to count;
 *  - updates_counted: what the committed rounds say they merged (`round.updates`);
 *  - updates_lost / updates_double_counted: per round, acknowledged but not counted / counted but not
 *    acknowledged (plus any update acknowledged twice); and the final model against the FedAvg of exactly the
 *    acknowledged updates, recomputed here from the dequantized frames (model_max_abs_error);
 *  - rss_mb_per_round: resident set of the combiner process(es) after each commit, and its least-squares slope
 *    (rss_slope_mb_per_round, over rounds 4..20: the first rounds warm up the JIT and the buffers).
 * Idle sockets: 10,000 authenticated clients (hello'd, heartbeating) connected to one combiner process and left
 * idle; idle_sockets_held = those the combiner still holds after 3 heartbeat periods, rss_kb_per_idle_socket =
 * its RSS growth over the idle baseline / sockets. The fd limit is raised with prlimit for it.
 * Options: `--quick` (200 clients x 5 rounds, 2,000 idle sockets).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeFrame, flattenTensors } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { ApiClient } from '@fedweb/server/client';
import { issueToken } from '@fedweb/server';
import { makeTestPackage, TestClient, writePackageDir, type TestClientOptions } from '@fedweb/server/testing';
import { limiter, makeUpdateFrames, median, round1, round3, rssKb, slope, startStack, stopStack, waitOnline, resultsHeader, writeResults, type Stack } from './_fleet.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
const CLIENTS = values.quick ? 200 : 1000;
const ROUNDS = values.quick ? 5 : 20;
const IDLE_CLIENTS = values.quick ? 2000 : 10_000;
const CHURN_MAX = values.quick ? 10 : 30;
const PARAMS = 100_000;
const LAYOUT = [{ name: 'w0', shape: [100, 1000] }];
const VARIANTS = 16;
const UPLOAD_CONCURRENCY = 64;
const HEARTBEAT_MS = 5000;
const SECRET = 'soak-bench-secret-0123456789abcdef';
const LOAD_AT_START = round1(loadavg()[0] ?? NaN);

// 10,000 sockets here and 10,000 in the combiner: raise this process's fd limit (children inherit it) with
// prlimit, to 65,536 where allowed, else the soft limit to the hard one.
const NEEDED_FDS = IDLE_CLIENTS + 1000;
const nofile = (): { soft: number; hard: number } => {
  const [soft, hard] = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--raw', '--noheadings', '--output', 'SOFT,HARD'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  return { soft: soft as number, hard: hard as number };
};
let fdLimit: number | string = 'unknown';
try {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=65536:65536'], { stdio: 'ignore' });
  } catch {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${nofile().hard}`], { stdio: 'ignore' });
  }
  fdLimit = nofile().soft;
} catch (e) {
  console.warn(`soak: prlimit failed (${(e as Error).message}); the fd limit stays as it was`);
}
if (typeof fdLimit === 'number' && fdLimit < NEEDED_FDS) console.warn(`soak: fd limit ${fdLimit} < ${NEEDED_FDS}: the idle-socket part will fall short`);

let seed = 99;
const rand = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};
const randInt = (n: number): number => Math.floor(rand() * n);

console.log(`soak bench: ${CLIENTS} clients x ${ROUNDS} rounds (1 and 2 combiners), ${PARAMS.toLocaleString()} params; ${IDLE_CLIENTS} idle sockets`);
const work = await mkdtemp(join(tmpdir(), 'fedweb-bench-soak-'));
const pkgDir = join(work, 'pkg');
await writePackageDir(pkgDir, await makeTestPackage({ layout: LAYOUT, name: 'bench-100k' }));
const { frames } = await makeUpdateFrames(LAYOUT, VARIANTS, 4242);
// What the combiners fold: the dequantized frames.
const folded = await Promise.all(frames.map(async (f) => flattenTensors(await decodeFrame(f, { compressor: nodeZlibCompressor }))));
const admin = await issueToken({ secret: SECRET, role: 'admin', sub: 'bench', expiresIn: '2h' });
const stackWith = (externalCombiners: number): Promise<Stack> =>
  startStack({ work, pkgDir, externalCombiners, token: admin, serverArgs: ['--heartbeat-ms', String(HEARTBEAT_MS)], combinerArgs: ['--heartbeat-ms', String(HEARTBEAT_MS), '--reconnect-grace-ms', '0'], env: { FEDWEB_SECRET: SECRET } });

/** Connects clients `ids`, 50 at a time. */
async function connectAll(ids: string[], make: (id: string) => Promise<TestClientOptions>): Promise<TestClient[]> {
  const out: TestClient[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      out.push(await TestClient.connect(await make(id)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(50, ids.length) }, worker));
  return out;
}

// ---------------------------------------------------------------- churn soak
async function churn(combiners: number) {
  const stack = await stackWith(combiners);
  const api = new ApiClient({ baseUrl: stack.url, token: admin });
  const slots = limiter(UPLOAD_CONCURRENCY);
  const sent = new Map<string, { variant: number; numExamples: number }>(); // `${roundId}|${clientId}`
  const acked = new Map<string, number>(); // `${roundId}|${clientId}` -> acks
  let refused = 0;
  const inflight = new Set<string>();
  const leaving = new Set<string>();
  const clients = new Map<string, TestClient>();
  let nextId = 0;
  const options = async (id: string): Promise<TestClientOptions> => ({
    baseUrl: stack.url,
    clientId: id,
    token: await issueToken({ secret: SECRET, role: 'client', sub: id, expiresIn: '2h' }),
    fetchModel: false,
    layout: LAYOUT,
    onTrain: async (task, ctx) => {
      if (leaving.has(id)) return null;
      inflight.add(id);
      await slots.acquire();
      const key = `${task.roundId}|${id}`;
      const variant = randInt(VARIANTS);
      const numExamples = 1 + randInt(20);
      sent.set(key, { variant, numExamples });
      const ack = ctx.client.waitFor('update.ack', (m) => m.roundId === task.roundId, 300_000).then(() => acked.set(key, (acked.get(key) ?? 0) + 1));
      const err = ctx.client.waitFor('error', () => true, 300_000).then(() => void refused++);
      void Promise.race([ack, err])
        .catch(() => undefined)
        .finally(() => {
          inflight.delete(id);
          slots.release();
        });
      return { frame: frames[variant] as Uint8Array, numExamples };
    },
  });
  const join_ = async (n: number): Promise<void> => {
    const ids = Array.from({ length: n }, () => `sim-${nextId++}`);
    for (const c of await connectAll(ids, options)) clients.set(c.clientId, c);
  };
  await join_(CLIENTS);
  await waitOnline(api, CLIENTS);
  const initial = await api.status();
  const session = await api.startSession({ rounds: ROUNDS, clientsRequired: 1, roundTimeoutMs: 120_000, encoding: 'int8' });
  const pids = stack.combiners.map((c) => c.child.pid);
  const rssPerRound: number[] = [];
  const controllerRssPerRound: number[] = [];
  let left = 0;
  let joined = 0;
  let seen = 0;
  let churnedAfter = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const d = await api.getSession(session.id);
    const done = d.session.completedRounds;
    while (seen < done) {
      seen++;
      rssPerRound.push(round1(pids.reduce<number>((a, pid) => a + rssKb(pid), 0) / 1024));
      controllerRssPerRound.push(round1(rssKb(stack.server.child.pid) / 1024));
    }
    if (d.session.status !== 'running') break;
    if (done > churnedAfter && done < ROUNDS) {
      // Between rounds: idle clients leave (no upload in flight, and they ignore any task from now), new ones join.
      churnedAfter = done;
      const idle = [...clients.keys()].filter((id) => !inflight.has(id) && !leaving.has(id));
      const leavers = idle.sort(() => rand() - 0.5).slice(0, randInt(CHURN_MAX + 1));
      for (const id of leavers) leaving.add(id);
      await Promise.all(leavers.map((id) => clients.get(id)!.close()));
      for (const id of leavers) clients.delete(id);
      left += leavers.length;
      const n = randInt(CHURN_MAX + 1);
      await join_(n);
      joined += n;
    }
  }
  const final = await api.getSession(session.id);
  if (final.session.status !== 'completed') throw new Error(`soak session ${final.session.status}`);
  const committed = final.rounds.filter((r) => r.status === 'committed');

  // Accounting, per round id.
  const ackedBy = new Map<string, number>();
  let doubleAcks = 0;
  for (const [key, n] of acked) {
    const roundId = key.split('|')[0] as string;
    ackedBy.set(roundId, (ackedBy.get(roundId) ?? 0) + 1);
    if (n > 1) doubleAcks += n - 1;
  }
  let lost = 0;
  let double = doubleAcks;
  for (const r of final.rounds) {
    const a = ackedBy.get(r.id) ?? 0;
    const counted = r.status === 'committed' ? r.updates : 0;
    lost += Math.max(0, a - counted);
    double += Math.max(0, counted - a);
  }
  const expected = [...ackedBy.values()].reduce((x, y) => x + y, 0);
  const counted = committed.reduce((n, r) => n + r.updates, 0);

  // The model: the seed plus, per committed round, the example-weighted mean of the acknowledged updates.
  const flat = async (modelId: string): Promise<Float32Array> => flattenTensors(await decodeFrame(await api.downloadModel(modelId), { compressor: nodeZlibCompressor }));
  const model = Float64Array.from(await flat(final.session.initialModelId));
  for (const r of committed) {
    const sum = new Float64Array(PARAMS);
    let weight = 0;
    for (const [key] of acked) {
      if (!key.startsWith(`${r.id}|`)) continue;
      const u = sent.get(key)!;
      const delta = folded[u.variant] as Float32Array;
      for (let i = 0; i < PARAMS; i++) sum[i] = (sum[i] as number) + u.numExamples * (delta[i] as number);
      weight += u.numExamples;
    }
    for (let i = 0; i < PARAMS; i++) model[i] = (model[i] as number) + (sum[i] as number) / weight;
  }
  const got = await flat(final.session.currentModelId);
  let maxErr = 0;
  for (let i = 0; i < PARAMS; i++) maxErr = Math.max(maxErr, Math.abs((got[i] as number) - (model[i] as number)));

  await Promise.all([...clients.values()].map((c) => c.close()));
  await stopStack(stack);
  const tail = rssPerRound.slice(3);
  const run = {
    combiners,
    clients_at_start: initial.clientsOnline,
    rounds: committed.length,
    clients_left: left,
    clients_joined: joined,
    updates_sent: sent.size,
    updates_refused: refused,
    updates_expected: expected,
    updates_counted: counted,
    updates_lost: lost,
    updates_double_counted: double,
    model_max_abs_error: maxErr,
    updates_per_round: committed.map((r) => r.updates),
    rss_mb_per_round: rssPerRound,
    rss_slope_mb_per_round: round3(slope(tail)),
    controller_rss_mb_per_round: controllerRssPerRound,
    controller_rss_slope_mb_per_round: round3(slope(controllerRssPerRound.slice(3))),
    round_ms_median: round1(median(committed.map((r) => (r.committedAt ?? r.startedAt) - r.startedAt))),
    load_avg_1m: round1(loadavg()[0] ?? NaN),
  };
  console.log(
    `${combiners} combiner(s): ${expected} acknowledged, ${counted} counted, lost ${lost}, double ${double}, model error ${maxErr.toExponential(2)}; RSS ${rssPerRound[0]} -> ${rssPerRound.at(-1)} MB, slope ${run.rss_slope_mb_per_round} MB/round; churn -${left} +${joined}`,
  );
  return run;
}

// ---------------------------------------------------------------- idle sockets on one combiner
async function idleSockets() {
  const stack = await stackWith(1);
  const api = new ApiClient({ baseUrl: stack.url, token: admin });
  const pid = stack.combiners[0]!.child.pid;
  await new Promise((r) => setTimeout(r, 3000));
  const baseline = median([rssKb(pid), (await new Promise((r) => setTimeout(r, 500)), rssKb(pid)), (await new Promise((r) => setTimeout(r, 500)), rssKb(pid))]);
  const t0 = Date.now();
  const ids = Array.from({ length: IDLE_CLIENTS }, (_, i) => `idle-${i}`);
  const conns = await connectAll(ids, async (id) => ({ baseUrl: stack.url, clientId: id, token: await issueToken({ secret: SECRET, role: 'client', sub: id, expiresIn: '2h' }), fetchModel: false, layout: LAYOUT }));
  const connectS = (Date.now() - t0) / 1000;
  await waitOnline(api, IDLE_CLIENTS);
  // Idle for three heartbeat periods: the combiner drops anyone whose heartbeats stopped, and the RSS settles.
  await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS));
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKb(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const held = (await api.listCombiners())[0]?.clients ?? 0;
  const stillConnected = conns.filter((c) => c.connected).length;
  const rss = median(samples);
  await Promise.all(conns.map((c) => c.close()));
  await stopStack(stack);
  const out = {
    clients: IDLE_CLIENTS,
    idle_sockets_held: held,
    clients_still_connected: stillConnected,
    combiner_rss_mb_idle_baseline: round1(baseline / 1024),
    combiner_rss_mb_with_sockets: round1(rss / 1024),
    rss_kb_per_idle_socket: round3((rss - baseline) / IDLE_CLIENTS),
    connect_s: round1(connectS),
    fd_limit: fdLimit,
  };
  console.log(`idle: ${held} of ${IDLE_CLIENTS} sockets held, ${out.rss_kb_per_idle_socket} KB each (RSS ${out.combiner_rss_mb_idle_baseline} -> ${out.combiner_rss_mb_with_sockets} MB)`);
  return out;
}

const one = await churn(1);
const two = await churn(2);
const idle = await idleSockets();
const runs = [one, two];
const sum = (k: 'updates_expected' | 'updates_counted' | 'updates_lost' | 'updates_double_counted'): number => runs.reduce((n, r) => n + r[k], 0);
const out = {
  ...resultsHeader('soak', LOAD_AT_START, PARAMS, frames[0]!.byteLength),
  clients: CLIENTS,
  rounds: ROUNDS,
  updates_expected: sum('updates_expected'),
  updates_counted: sum('updates_counted'),
  updates_lost: sum('updates_lost'),
  updates_double_counted: sum('updates_double_counted'),
  model_max_abs_error: Math.max(one.model_max_abs_error, two.model_max_abs_error),
  rss_mb_per_round: { one_combiner: one.rss_mb_per_round, two_combiners: two.rss_mb_per_round },
  rss_slope_mb_per_round: { one_combiner: one.rss_slope_mb_per_round, two_combiners: two.rss_slope_mb_per_round },
  idle_sockets_held: idle.idle_sockets_held,
  rss_kb_per_idle_socket: idle.rss_kb_per_idle_socket,
  targets: {
    updates_lost_eq_0: sum('updates_lost') === 0,
    updates_double_counted_eq_0: sum('updates_double_counted') === 0,
    all_idle_sockets_held: idle.idle_sockets_held === IDLE_CLIENTS,
    rss_kb_per_idle_socket_le_10: idle.rss_kb_per_idle_socket <= 10,
  },
  detail: { one_combiner: one, two_combiners: two, idle },
  notes: [
    'The simulated clients run in this process; controller and combiners are child processes; all share the machine.',
    'rss_mb_per_round sums the combiner processes (two in the split run); rss_slope_mb_per_round is the least-squares slope over rounds 4..ROUNDS. GC runs when V8 decides, so single rounds jump by a few MB either way.',
    `Churn: after each commit 0-${CHURN_MAX} idle clients leave (no upload in flight; they ignore any task from then on) and 0-${CHURN_MAX} new clients join; combiners run with --reconnect-grace-ms 0 so a leaver selected for the next round does not hold it open.`,
    'rss_kb_per_idle_socket includes everything the combiner keeps per joined client (ws socket, TLS-less TCP buffers as counted in RSS, the hub entry, heartbeat bookkeeping).',
  ],
};
writeResults('soak', out);
await rm(work, { recursive: true, force: true });
console.log('wrote bench/results/soak.json');
process.exit(0);
