/**
 * Shared by the process-level benchmarks (rounds, scale, soak): a `fedweb server` plus external `fedweb
 * combiner` child processes on this machine, precomputed update frames, simulated clients that upload them,
 * and what /proc says about a child (CPU time, RSS). Not a benchmark itself (`run.ts` skips `_` files).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, type Metrics, type TensorSpec } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { ApiClient, type RoundView, type StartSessionInput } from '@fedweb/server/client';
import { connectClients, spawnCli, type CliProcess, type TestClient } from '@fedweb/server/testing';

export const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
export const round1 = (x: number): number => Math.round(x * 10) / 10;
export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Least-squares slope of `ys` over 0, 1, 2, ... (units of y per step). */
export function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function procStatus(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  if (!pid) return NaN;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
/** Peak resident set of a process, MB (VmHWM). */
export const peakRssMb = (pid: number | undefined): number => procStatus(pid, 'VmHWM') / 1024;
/** Resident set of a process now, kB (VmRSS). */
export const rssKb = (pid: number | undefined): number => procStatus(pid, 'VmRSS');

/**
 * CPU time (user + system) a process has used so far, ms: utime + stime of /proc/<pid>/stat, the counters
 * `process.cpuUsage()` reads inside the process (here at the kernel's 100 Hz tick resolution).
 */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state (field 3); utime, stime are 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100;
}

/** A tiny semaphore (the client side's upload concurrency). */
export function limiter(n: number): { acquire(): Promise<void>; release(): void } {
  let free = n;
  const queue: Array<() => void> = [];
  return {
    acquire: () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((r) => queue.push(r))),
    release: () => {
      const next = queue.shift();
      if (next) next();
      else free++;
    },
  };
}

/** `variants` int8 + deflate update frames of small Gaussian-ish deltas (sum of uniforms), deterministic. */
export async function makeUpdateFrames(layout: TensorSpec[], variants: number, seed0 = 12345): Promise<{ frames: Uint8Array[]; deltas: Float32Array[] }> {
  let seed = seed0;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const n = layout.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const frames: Uint8Array[] = [];
  const deltas: Float32Array[] = [];
  for (let v = 0; v < variants; v++) {
    const delta = new Float32Array(n);
    for (let i = 0; i < n; i++) delta[i] = (rand() + rand() + rand() - 1.5) * 0.01;
    let off = 0;
    const tensors = layout.map((s) => {
      const len = s.shape.reduce((x, y) => x * y, 1);
      const t = { name: s.name, shape: s.shape, data: delta.subarray(off, off + len) };
      off += len;
      return t;
    });
    frames.push(await encodeFrame(tensors, { encoding: 'int8', compressor: nodeZlibCompressor }));
    deltas.push(delta);
  }
  return { frames, deltas };
}

export interface Stack {
  url: string;
  server: CliProcess;
  combiners: CliProcess[];
  dir: string;
}

/**
 * Starts `fedweb server` (no embedded combiner when `externalCombiners` > 0) and that many `fedweb combiner`
 * processes, and waits until they registered.
 */
export async function startStack(opts: { work: string; pkgDir: string; externalCombiners: number; serverArgs?: string[]; combinerArgs?: string[]; combinerPrefix?: string[]; env?: NodeJS.ProcessEnv; token?: string }): Promise<Stack> {
  const dir = await mkdtemp(join(opts.work, 'data-'));
  const args = ['server', '--data-dir', dir, '--port', '0', '--package', opts.pkgDir, '--log-level', 'warn', ...(opts.serverArgs ?? [])];
  if (opts.externalCombiners > 0) args.push('--no-embedded-combiner');
  const server = spawnCli(args, opts.env);
  const url = (await server.waitFor(/listening on (http:\/\/[0-9.:]+)/, 60_000))[1] as string;
  const combiners: CliProcess[] = [];
  for (let i = 0; i < opts.externalCombiners; i++) {
    const c = spawnCli(['combiner', '--controller', url, '--name', `c${i + 1}`, '--port', '0', '--log-level', 'warn', ...(opts.combinerArgs ?? [])], opts.env, { prefix: opts.combinerPrefix ?? [] });
    await c.waitFor(/listening on/, 60_000);
    combiners.push(c);
  }
  const api = new ApiClient({ baseUrl: url, token: opts.token });
  for (let t = 0; ; t++) {
    const list = await api.listCombiners();
    if (list.length === Math.max(1, opts.externalCombiners)) break;
    if (t > 400) throw new Error('combiners did not register');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, server, combiners, dir };
}

export async function stopStack(s: Stack): Promise<void> {
  for (const c of s.combiners) await c.stop();
  await s.server.stop();
}

/** Waits until the controller sees `n` clients online. */
export async function waitOnline(api: ApiClient, n: number, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { clientsOnline } = await api.status();
    if (clientsOnline >= n) return;
    if (Date.now() > end) throw new Error(`only ${clientsOnline} of ${n} clients online`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the result files say about the machine they ran on. */
export function machine(loadAtStart: number): Record<string, unknown> {
  return {
    load_avg_1m_at_start: loadAtStart,
    load_avg_1m_at_end: round1(loadavg()[0] ?? NaN),
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    total_mem_gb: round1(totalmem() / 2 ** 30),
    free_mem_gb: round1(freemem() / 2 ** 30),
  };
}

/**
 * `n` simulated clients (`sim-<i>`) that answer every task with the next of `frames` (round-robin, 10-16
 * examples), at most `concurrency` uploads in flight from this process (real clients finish training at
 * different times).
 */
export function connectUploaders(url: string, n: number, opts: { layout: TensorSpec[]; frames: Uint8Array[]; concurrency: number; metrics?: Metrics }): Promise<TestClient[]> {
  const slots = limiter(opts.concurrency);
  let seq = 0;
  return connectClients(n, (i) => ({
    baseUrl: url,
    clientId: `sim-${i}`,
    fetchModel: false,
    layout: opts.layout,
    onTrain: async (task, ctx) => {
      await slots.acquire();
      const done = ctx.client.waitFor('update.ack', (m) => m.roundId === task.roundId, 300_000).catch(() => undefined);
      const err = ctx.client.waitFor('error', () => true, 300_000).catch(() => undefined);
      void Promise.race([done, err]).finally(() => slots.release());
      return { frame: opts.frames[seq++ % opts.frames.length] as Uint8Array, numExamples: 10 + (seq % 7), ...(opts.metrics ? { metrics: opts.metrics } : {}) };
    },
  }));
}

/** Starts a session and polls until it ends; throws unless it completed; returns its rounds. */
export async function runSessionToEnd(api: ApiClient, config: StartSessionInput, pollMs = 200): Promise<RoundView[]> {
  const session = await api.startSession(config);
  for (;;) {
    await new Promise((r) => setTimeout(r, pollMs));
    const d = await api.getSession(session.id);
    if (d.session.status !== 'running') {
      if (d.session.status !== 'completed') throw new Error(`session ${d.session.status}`);
      return d.rounds;
    }
  }
}

/** The first keys of a results file: which bench, when, on what machine, and the updates it sent. */
export function resultsHeader(name: string, loadAtStart: number, params: number, updateBytes: number): Record<string, unknown> {
  return { bench: name, date: new Date().toISOString(), machine: machine(loadAtStart), params, update_encoding: 'int8 (block 256) + deflate (node:zlib)', update_bytes: updateBytes };
}

/** Writes `bench/results/<name>.json`. */
export function writeResults(name: string, out: object): void {
  mkdirSync(here('./results'), { recursive: true });
  writeFileSync(here(`./results/${name}.json`), JSON.stringify(out, null, 2) + '\n');
}
