/**
 * The centralized baseline of a simulation: the same compute package and trainer, trained from the same
 * seed model on the union of the shards the clients held, for as many epochs as the federated run did in
 * all its rounds (rounds x local epochs), with the same batch size, optimizer and learning-rate schedule
 * (`demo/src/schedule.ts`, shared with the page).
 *
 * Where: Node (the SDK's in-process trainer, tfjs WASM) when the model trains there (the MLP); in the
 * harness's Chromium (`demo/centralized.html`, a trainer worker on WebGL) for the CNN, whose convolution
 * gradients have no WASM kernels and crawl at ~12 examples/s on Node's pure-JS CPU backend.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { createInProcessTrainer } from '../../packages/sdk-client/src/node/index.js';
import { gather, loadMnist, simShards, type SimOptions } from '../../packages/server/src/sim/index.js';
import { trainOnSchedule } from '../../demo/src/schedule.js';

export interface CentralizedOptions {
  packageDir: string;
  /** The shard configuration of the run and which shards the clients held. */
  sim: SimOptions;
  shards: number[];
  rounds: number;
  epochsPerRound: number;
  batchSize: number;
  learningRate: number;
  /** The session's per-round learning-rate factor (1 = constant). */
  learningRateDecay: number;
  /** Settings extras merged over the package manifest's (e.g. `{ optimizer: 'momentum' }`), as the session does. */
  extra?: Record<string, unknown>;
}

export interface CentralizedOutcome {
  /** The trained model as an f32 frame. */
  model: Uint8Array;
  numExamples: number;
  trainMs: number;
  where: string;
}

/**
 * Trains the baseline in Node with the SDK's in-process trainer.
 * @example
 * ```ts
 * const { model } = await trainCentralizedInNode({ packageDir, sim, shards: [0, 1], rounds: 20, epochsPerRound: 1, batchSize: 32, learningRate: 0.1, learningRateDecay: 1 });
 * ```
 */
export async function trainCentralizedInNode(opts: CentralizedOptions): Promise<CentralizedOutcome> {
  const manifest = JSON.parse(readFileSync(join(opts.packageDir, 'manifest.json'), 'utf8')) as { settings?: Record<string, unknown> };
  const code = new Uint8Array(readFileSync(join(opts.packageDir, 'package.mjs')));
  const seed = new Uint8Array(readFileSync(join(opts.packageDir, 'seed-model.fwf')));
  const sim = simShards(opts.sim);
  const union = gather(loadMnist().train, opts.shards.flatMap((k) => sim.indices[k] ?? []));
  const { api, terminate } = createInProcessTrainer();
  try {
    await api.init({ backend: 'auto' });
    const report = await api.loadPackage(code.slice().buffer, manifest as never);
    await api.setData({ x: union.x, xShape: [28, 28, 1], y: union.y, yShape: [] });
    const r = await trainOnSchedule((model, settings) => api.train({ roundId: 'centralized', model, settings }), seed, { ...opts, extra: { ...(manifest.settings ?? {}), ...opts.extra } });
    return { model: r.model, numExamples: r.numExamples, trainMs: r.trainMs, where: `node/${report.chosen}` };
  } finally {
    await terminate();
  }
}

/**
 * Trains the baseline in a page of the harness's browser (`/centralized.html`, a trainer worker).
 * @example
 * ```ts
 * const { model } = await trainCentralizedInBrowser(context, env.url, { packageDir, sim, shards, rounds: 20, epochsPerRound: 1, batchSize: 32, learningRate: 0.1, learningRateDecay: 1 });
 * ```
 */
export async function trainCentralizedInBrowser(context: BrowserContext, url: string, opts: CentralizedOptions & { backend?: string }): Promise<CentralizedOutcome> {
  const page = await context.newPage();
  try {
    await page.goto(`${url}/centralized.html`);
    await page.waitForFunction(() => typeof (window as unknown as { fedwebCentralized?: unknown }).fedwebCentralized === 'function');
    const r = await page.evaluate(
      (req) => (window as unknown as { fedwebCentralized(r: unknown): Promise<{ modelBase64: string; numExamples: number; trainMs: number; backend: string }> }).fedwebCentralized(req),
      {
        shards: opts.shards,
        rounds: opts.rounds,
        epochsPerRound: opts.epochsPerRound,
        batchSize: opts.batchSize,
        learningRate: opts.learningRate,
        learningRateDecay: opts.learningRateDecay,
        extra: opts.extra ?? {},
        backend: opts.backend ?? 'webgl',
      },
    );
    return { model: new Uint8Array(Buffer.from(r.modelBase64, 'base64')), numExamples: r.numExamples, trainMs: r.trainMs, where: `browser/${r.backend}` };
  } finally {
    await page.close();
  }
}
