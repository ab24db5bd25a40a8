/**
 * Convergence on a small real problem: multinomial logistic regression on the `mnist` package's digits
 * (7,850 parameters, plain Float32Array maths, see `testing.ts`), updates sent as real codec frames.
 * Figures are printed (console.info) for the report; assertions check directions with wide margins.
 */
import { describe, expect, it } from 'vitest';
import { gather, loadMnist } from '../sim/mnist.js';
import { parseSplit, partition } from '../sim/split.js';
import { BUILTIN_STRATEGIES, getStrategy } from './index.js';
import { simulate, type Examples, type SimulationResult } from './testing.js';

const { train, test: fullTest } = loadMnist();
// Every other test digit (1,000, all classes): halves evaluation time, same distribution.
const test: Examples = gather(fullTest, Array.from({ length: fullTest.n / 2 }, (_, i) => 2 * i));

function shards(split: string, clients: number, perClient: number, seed: number): Examples[] {
  return partition(train.y, clients, parseSplit(split), seed).map((ix) => gather(train, ix.slice(0, perClient)));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = (r: SimulationResult) => r.history.map((h) => `${h.accuracy.toFixed(3)}/${h.loss.toFixed(2)}`).join(' ');

describe('convergence: the test loss goes down for every strategy (8 non-IID clients, labels:2)', () => {
  const clients = shards('labels:2', 8, 250, 11);
  // Central DP with only 8 clients cannot afford z = 1 (noise std S/8 per coordinate swamps the signal),
  // so this run uses z = 0.1; the privacy it buys at that scale is negligible (see README).
  const overrides: Record<string, unknown> = { dp: { noiseMultiplier: 0.1 } };
  for (const s of BUILTIN_STRATEGIES) {
    it(`${s.name}: loss after 5 rounds is below the untrained model's and below round 1's`, async () => {
      const r = await simulate({
        strategy: getStrategy(s.name),
        options: overrides[s.name] ?? {},
        clients,
        test,
        rounds: 5,
        local: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        seed: 5,
        combiners: 2,
      });
      console.info(`[convergence] ${s.name.padEnd(12)} initial ${r.initial.loss.toFixed(3)} | acc/loss per round: ${summary(r)}`);
      const last = r.history.at(-1)!;
      expect(last.loss).toBeLessThan(r.initial.loss - 0.1);
      expect(last.loss).toBeLessThan(r.history[0]!.loss);
    });
  }
});

describe('strongly non-IID, partial participation, long local training (Li et al. 2020 setting)', () => {
  // 10 clients holding 2 classes each; 2 sampled per round; 20 local epochs. FedAvg's global model swings
  // toward whichever pair of clients took part; FedProx's proximal term damps the swing (lower loss every
  // round in our runs), SCAFFOLD's control variates correct the drift (much higher accuracy).
  const clients = shards('labels:2', 10, 150, 3);
  const run = (name: string, options: unknown = {}) =>
    simulate({
      strategy: getStrategy(name),
      options,
      clients,
      test,
      rounds: 10,
      clientsPerRound: 2,
      local: { epochs: 20, batchSize: 32, learningRate: 0.1 },
      seed: 3,
    });

  it('FedProx (mu = 1) keeps the test loss lower than FedAvg; SCAFFOLD reaches higher accuracy', async () => {
    const avg = await run('fedavg');
    const prox = await run('fedprox', { mu: 1 });
    const scaf = await run('scaffold', { numClients: 10 });
    const loss = (r: SimulationResult) => mean(r.history.map((h) => h.loss));
    const acc = (r: SimulationResult) => mean(r.history.map((h) => h.accuracy));
    for (const [n, r] of [['fedavg', avg], ['fedprox', prox], ['scaffold', scaf]] as const) {
      console.info(`[non-iid] ${n.padEnd(9)} mean acc ${acc(r).toFixed(3)} mean loss ${loss(r).toFixed(3)} | ${summary(r)}`);
    }
    expect(loss(prox)).toBeLessThan(loss(avg) - 0.2);
    expect(acc(scaf)).toBeGreaterThan(acc(avg) + 0.05);
  });
});

describe('robust aggregation: 1 of 8 clients sends its update x100', () => {
  const clients = shards('iid', 8, 250, 21);
  const run = (name: string, attack = true) =>
    simulate({
      strategy: getStrategy(name),
      clients,
      test,
      rounds: 5,
      local: { epochs: 1, batchSize: 32, learningRate: 0.1 },
      seed: 21,
      combiners: 3,
      ...(attack ? { attack: { client: 0, scale: 100 } } : {}),
    });

  it('FedAvg is wrecked by the scaled update (and fine without it)', async () => {
    const honest = await run('fedavg', false);
    const attacked = await run('fedavg');
    console.info(`[attack] fedavg honest   ${summary(honest)}`);
    console.info(`[attack] fedavg attacked ${summary(attacked)}`);
    expect(honest.history.at(-1)!.accuracy).toBeGreaterThan(0.75);
    // Worse than the untrained model (ln 10 = 2.30): the attack controls the global model.
    expect(attacked.history.at(-1)!.loss).toBeGreaterThan(honest.initial.loss);
    expect(mean(attacked.history.map((h) => h.accuracy))).toBeLessThan(0.6);
  });

  for (const name of ['median', 'trimmedmean', 'normclip']) {
    it(`${name} keeps the model useful`, async () => {
      const r = await run(name);
      console.info(`[attack] ${name.padEnd(15)} ${summary(r)}`);
      expect(r.history.at(-1)!.accuracy).toBeGreaterThan(0.75);
      expect(r.history.at(-1)!.loss).toBeLessThan(1.2);
    });
  }
});
