/**
 * The centralized baseline of a simulation: the same compute package and trainer, trained from the same
 * seed model on the union of the shards the clients held, for as many epochs as the federated run did in
 * all its rounds (rounds x local epochs), with the same batch size, optimizer and learning-rate schedule
 * (`demo/src/schedule.ts`), through the one implementation the page also runs (`@fedweb/demo/centralized`).
 *
 * Where: Node (the SDK's in-process trainer, tfjs WASM) when the model trains there (the MLP); in the
 * harness's Chromium (`demo/centralized.html`, a trainer worker on WebGL) for the CNN, whose convolution
 * gradients have no WASM kernels and crawl at ~12 examples/s on Node's pure-JS CPU backend.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { createInProcessTrainer } from '../../packages/sdk-client/src/node/index.js';
import { gather, simShards, type SimOptions } from '../../packages/server/src/sim/index.js';
import type { ComputePackageManifest } from '@fedweb/codec';
import { trainCentralized, type CentralizedPlan, type CentralizedRequest, type CentralizedResult } from '@fedweb/demo/centralized';

/**
 * Where the baseline's package lives and what it trains on, besides the run's schedule.
 * @example
 * ```ts
 * const o: CentralizedOptions = { packageDir, sim, shards: [0, 1], rounds: 20, epochsPerRound: 1, batchSize: 32, learningRate: 0.1, learningRateDecay: 1 };
 * ```
 */
export interface CentralizedOptions extends CentralizedPlan {
  packageDir: string;
  /** The shard configuration of the run and which shards the clients held. */
  sim: SimOptions;
  shards: number[];
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
  const manifest = JSON.parse(readFileSync(join(opts.packageDir, 'manifest.json'), 'utf8')) as ComputePackageManifest;
  const code = new Uint8Array(readFileSync(join(opts.packageDir, 'package.mjs')));
  const seed = new Uint8Array(readFileSync(join(opts.packageDir, 'seed-model.fwf')));
  const sim = simShards(opts.sim);
  const union = gather(sim.train, opts.shards.flatMap((k) => sim.indices[k] ?? []));
  const { api, terminate } = createInProcessTrainer();
  try {
    const r = await trainCentralized(api, { code: code.slice().buffer, manifest, seed, x: union.x, y: union.y, backend: 'auto' }, opts);
    return { model: r.model, numExamples: r.numExamples, trainMs: r.trainMs, where: `node/${r.backend}` };
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
export async function trainCentralizedInBrowser(context: BrowserContext, url: string, opts: CentralizedOptions & { backend?: CentralizedRequest['backend'] }): Promise<CentralizedOutcome> {
  const page = await context.newPage();
  try {
    await page.goto(`${url}/centralized.html`);
    await page.waitForFunction(() => typeof (window as unknown as { fedwebCentralized?: unknown }).fedwebCentralized === 'function');
    const request: CentralizedRequest = {
      shards: opts.shards,
      rounds: opts.rounds,
      epochsPerRound: opts.epochsPerRound,
      batchSize: opts.batchSize,
      learningRate: opts.learningRate,
      learningRateDecay: opts.learningRateDecay,
      extra: opts.extra ?? {},
      backend: opts.backend ?? 'webgl',
    };
    const r = await page.evaluate((req) => (window as unknown as { fedwebCentralized(r: CentralizedRequest): Promise<CentralizedResult> }).fedwebCentralized(req), request);
    return { model: new Uint8Array(Buffer.from(r.modelBase64, 'base64')), numExamples: r.numExamples, trainMs: r.trainMs, where: `browser/${r.backend}` };
  } finally {
    await page.close();
  }
}
