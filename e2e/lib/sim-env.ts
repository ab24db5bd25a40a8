/**
 * A simulation environment: a real fedweb server (controller + discovery + reducer, embedded or external
 * combiner processes) with the simulation shard routes and the demo site, on 127.0.0.1, plus helpers to
 * open demo tabs as clients and read what they report. Used by `npm run simulate` and the e2e tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startServer, type FedServer, type SessionConfigInput } from '../../packages/server/src/index.js';
import type { RoundRecord, SessionRecord } from '../../packages/server/src/store/types.js';
import { simRoutes, type DatasetName } from '../../packages/server/src/sim/index.js';
import { waitFor } from './net.js';
import type { DemoState } from '@fedweb/demo/state';
import { ensureDemoBuilt, ensurePackagesBuilt, ROOT } from './prepare.js';

/** What a demo tab exposes as `window.__fedweb`: the page's own state type (demo/src/state.ts). */
export type { DemoState };

export interface SimEnvOptions {
  model: 'cnn' | 'mlp';
  /** The task the server's simulation mode hands out (default mnist). */
  dataset?: DatasetName;
  split: string;
  seed: number;
  /** Number of shards (simulated data owners). */
  shards: number;
  maxExamplesPerShard?: number;
  /** 1 = the embedded combiner; K >= 2 = K external combiner processes (and no embedded one). */
  combiners: number;
  log?: (line: string) => void;
}

export interface CombinerProc {
  name: string;
  child: ChildProcess;
  alive: boolean;
}

export interface SimEnv {
  server: FedServer;
  url: string;
  packageDir: string;
  combiners: CombinerProc[];
  /** Waits until at least `n` clients are online across all combiners. */
  waitForClients(n: number, timeoutMs: number): Promise<void>;
  clientsOnline(): number;
  startSession(config: SessionConfigInput): Promise<SessionRecord>;
  rounds(sessionId: string): Promise<RoundRecord[]>;
  close(): Promise<void>;
}

/**
 * Starts the server (and combiner processes) for a simulation.
 * @example
 * ```ts
 * const env = await startSimEnv({ model: 'mlp', split: 'iid', seed: 42, shards: 4, combiners: 1 });
 * await env.close();
 * ```
 */
export async function startSimEnv(opts: SimEnvOptions): Promise<SimEnv> {
  const log = opts.log ?? (() => {});
  const staticDir = await ensureDemoBuilt({ log });
  const packageDir = await ensurePackagesBuilt(opts.model, { log });
  const dataDir = mkdtempSync(join(tmpdir(), 'fedweb-sim-'));
  const external = opts.combiners >= 2;
  const server = await startServer({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    staticDir,
    computePackage: { dir: packageDir },
    plugins: [simRoutes({ dataset: opts.dataset ?? 'mnist', split: opts.split, seed: opts.seed, clients: opts.shards, ...(opts.maxExamplesPerShard ? { maxExamplesPerShard: opts.maxExamplesPerShard } : {}) })],
    embeddedCombiner: !external,
    logLevel: 'error',
    waitPollMs: 200,
    partialGraceMs: 5000,
  });
  const combiners: CombinerProc[] = [];
  if (external) {
    for (let k = 1; k <= opts.combiners; k++) {
      const name = `c${k}`;
      const child = spawn(process.execPath, [join(ROOT, 'packages/server/bin/fedweb.mjs'), 'combiner', '--controller', server.url, '--name', name, '--port', '0', '--log-level', 'error'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const proc: CombinerProc = { name, child, alive: true };
      child.stderr?.on('data', (b: Buffer) => log(`[${name}] ${b.toString().trim().slice(0, 500)}`));
      child.once('exit', () => (proc.alive = false));
      combiners.push(proc);
    }
    await waitFor(() => (server.registry.list().length >= opts.combiners ? true : undefined), { timeoutMs: 60_000, what: `${opts.combiners} combiners registered` });
  }
  const clientsOnline = () => server.registry.list().reduce((n, c) => n + c.clients.size, 0);
  return {
    server,
    url: server.url,
    packageDir,
    combiners,
    clientsOnline,
    async waitForClients(n, timeoutMs) {
      await waitFor(() => (clientsOnline() >= n ? true : undefined), { timeoutMs, everyMs: 200, what: `${n} clients online (have ${clientsOnline()})` });
    },
    startSession: (config) => server.controller.startSession(config),
    rounds: (sessionId) => server.state.listRounds(sessionId),
    async close() {
      for (const c of combiners) if (c.alive) c.child.kill('SIGTERM');
      await server.close().catch(() => undefined);
      for (const c of combiners) if (c.alive) c.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens one demo tab as a client and waits for its page to be ready (the shard fetched, FedClient started).
 * @example
 * ```ts
 * const page = await openTab(context, env.url, 'sim-tab-0', { backend: 'wasm', validation: 0 });
 * ```
 */
export async function openTab(
  context: BrowserContext,
  url: string,
  clientId: string,
  opts: { backend?: string; validation?: number; trustedOrigins?: string[]; onConsole?: (line: string) => void } = {},
): Promise<Page> {
  const page = await context.newPage();
  if (opts.onConsole) {
    const tag = clientId;
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') opts.onConsole?.(`[${tag}] ${m.type()}: ${m.text().slice(0, 400)}`);
    });
    page.on('pageerror', (e) => opts.onConsole?.(`[${tag}] pageerror: ${e.message}`));
  }
  const q = new URLSearchParams({ client: clientId, backend: opts.backend ?? 'auto', validation: String(opts.validation ?? 0) });
  // External combiners listen on other ports (other origins): the page must be told to trust them.
  for (const origin of opts.trustedOrigins ?? []) q.append('trust', origin);
  await page.goto(`${url}/?${q}`);
  await page.waitForFunction(() => (window as unknown as { __fedweb?: DemoState }).__fedweb?.shard !== undefined, undefined, { timeout: 120_000 });
  return page;
}

/**
 * Reads a tab's `window.__fedweb` snapshot.
 * @example
 * ```ts
 * const s = await tabState(page); s.bytesUp;
 * ```
 */
export function tabState(page: Page): Promise<DemoState> {
  return page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __fedweb: unknown }).__fedweb)) as DemoState);
}
