/**
 * Options of `npm run simulate` (parsed with node:util `parseArgs`, validated with zod).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const SimulateOptionsSchema = z
  .object({
    tabs: z.number().int().min(0).max(64),
    rounds: z.number().int().min(1).max(1000),
    split: z.string().regex(/^(iid|dirichlet:[0-9.]+|labels:[0-9]+)$/, 'iid, dirichlet:<alpha> or labels:<k>'),
    strategy: z.string().min(1).max(64),
    /** The strategy's options (JSON object; the server validates them against the strategy's own schema). */
    strategyOptions: z.record(z.string(), z.unknown()),
    model: z.enum(['cnn', 'mlp']),
    /** The task: MNIST digits or Fashion-MNIST clothing (the server's simulation mode serves it). */
    dataset: z.enum(['mnist', 'fashion']),
    nodeClients: z.number().int().min(0).max(64),
    combiners: z.number().int().min(1).max(16),
    killTabEvery: z.number().int().min(0).max(1000),
    killCombinerAtRound: z.number().int().min(0).max(1000),
    /** At most this many examples per shard (cut from the training split, then truncated); 0 = all of them. */
    shardSize: z.number().int().min(0).max(60_000),
    epochs: z.number().int().min(1).max(100),
    batchSize: z.number().int().min(1).max(4096),
    learningRate: z.number().positive(),
    /** Per-round factor of the local learning rate (the session's `learningRateDecay`); 1 = constant. */
    learningRateDecay: z.number().gt(0).lte(1),
    /** The local optimizer (the CNN/MLP packages' `train` reads `settings.extra.optimizer`); fresh every round. */
    optimizer: z.enum(['sgd', 'momentum', 'adam']),
    encoding: z.enum(['f32', 'int8', 'int4', 'topk']),
    /** How clients get the model: int8 deltas against what they hold (default) or the full model. */
    downloads: z.enum(['delta', 'full']),
    /** Run again with full downloads on the same seed and record `accuracy_delta_vs_full_pt`. */
    compareDownloads: z.boolean(),
    backend: z.enum(['auto', 'webgpu', 'webgl', 'wasm', 'cpu']),
    seed: z.number().int().min(0),
    roundTimeoutS: z.number().positive(),
    /** Skip the centralized baseline (it costs as much compute as the federated run). */
    centralized: z.boolean(),
    out: z.string().min(1),
    headful: z.boolean(),
  })
  .refine((o) => o.tabs + o.nodeClients >= 1, 'at least one tab or Node client');
export type SimulateOptions = z.infer<typeof SimulateOptionsSchema>;

/** Defaults per model, planned from measured speeds (see demo/README.md, "Simulations"). */
export const MODEL_DEFAULTS = {
  // CNN: a 20-round budget. First picked from 10-tab runs compared on the digits now reported as test (SGD 0.1 vs
  // momentum 0.02/0.03/0.05, batch 32/64); then checked on VALIDATION by `npm run bench -- strategies-cnn`, which
  // kept them: 2 epochs of momentum 0.03, batch 64 beat 1 epoch, and a smaller (0.015) or decaying rate.
  cnn: { shardSize: 0, epochs: 2, batchSize: 64, learningRate: 0.03, optimizer: 'momentum', backend: 'webgl' },
  mlp: { shardSize: 0, epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', backend: 'wasm' },
} as const;

/**
 * The default strategy: the recommendation for non-IID browser fleets, chosen on validation by
 * `npm run bench -- strategies-cnn` (FedAvg with server momentum 0.5 at server rate 1, two local epochs).
 */
export const RECOMMENDED_STRATEGY = { name: 'fedavgm', options: { momentum: 0.5, lr: 1 } } as const;

export const USAGE = `usage: npm run simulate -- [options]
  --tabs N                    headless Chromium tabs (clients), default 10
  --rounds R                  rounds, default 20
  --split S                   iid | dirichlet:<alpha> | labels:<k>, default dirichlet:0.5
  --strategy NAME             aggregation strategy (fedavg, fedavgm, fedprox, fedadam, ...), default fedavgm
  --strategy-options JSON     the strategy's options as JSON, e.g. '{"mu":0.01}' for fedprox; default
                              '{"momentum":0.5,"lr":1}' with the default strategy, {} with --strategy
  --model cnn|mlp             compute package: small CNN (WebGL) or MLP (WASM), default cnn
  --dataset mnist|fashion     the task: MNIST digits (7,000 train / 1,000 validation / 2,000 test) or Fashion-MNIST
                              (55,000 / 5,000 / 10,000; Debian's dataset-fashion-mnist), default mnist
  --node-clients M            also M Node clients (sdk-client in Node), default 0
  --combiners K               K combiner processes, default 1
  --kill-tab-every N          every N rounds close a random tab mid-round and open a new one (0 = never)
  --kill-combiner-at-round R  kill a combiner process during round R (needs --combiners >= 2; 0 = never)
  --shard-size N              at most N examples per client shard (default 0: no cap, the shards cover the whole training split)
  --epochs E                  local epochs per round (default: cnn 2, mlp 1)
  --batch-size B              local batch size (default: cnn 64, mlp 32)
  --lr X                      local learning rate (default: cnn 0.03, mlp 0.1)
  --lr-decay D                round r trains with lr * D^(r-1) (default 1: constant)
  --optimizer sgd|momentum|adam  local optimizer, fresh each round (default: cnn momentum 0.9, mlp sgd)
  --encoding int8|int4|f32|topk    update encoding, default int8
  --downloads delta|full      model downloads: int8 deltas against the client's model (default) or full
  --compare-downloads         then rerun with full downloads, same seed: accuracy_delta_vs_full_pt
  --backend auto|webgl|wasm|cpu|webgpu   tfjs backend of the tabs (default: cnn webgl, mlp wasm, the fastest
                              here; auto makes every tab probe, and under 2-core contention some pick cpu)
  --seed N                    split and sampling seed, default 42
  --round-timeout S           seconds before a round's deadline, default 600
  --no-centralized            skip the centralized baseline
  --out FILE                  result JSON, default bench/results/simulate.json
  --headful                   show the browser (debugging)`;

/** Parses a JSON option's text; a typed error names the option when it is not JSON. */
function jsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`bad option ${name}: not JSON (${(e as Error).message})\n\n${USAGE}`);
  }
}

/**
 * Parses `process.argv`-style arguments into validated options.
 * @example
 * ```ts
 * const o = parseSimulateArgs(['--tabs', '4', '--model', 'mlp']);
 * o.tabs; // 4
 * ```
 */
export function parseSimulateArgs(argv: string[]): SimulateOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      tabs: { type: 'string' },
      rounds: { type: 'string' },
      split: { type: 'string' },
      strategy: { type: 'string' },
      'strategy-options': { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      'node-clients': { type: 'string' },
      combiners: { type: 'string' },
      'kill-tab-every': { type: 'string' },
      'kill-combiner-at-round': { type: 'string' },
      'shard-size': { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'lr-decay': { type: 'string' },
      optimizer: { type: 'string' },
      encoding: { type: 'string' },
      downloads: { type: 'string' },
      'compare-downloads': { type: 'boolean' },
      backend: { type: 'string' },
      seed: { type: 'string' },
      'round-timeout': { type: 'string' },
      'no-centralized': { type: 'boolean' },
      out: { type: 'string' },
      headful: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const model = (values.model ?? 'cnn') as 'cnn' | 'mlp';
  const d = MODEL_DEFAULTS[model] ?? MODEL_DEFAULTS.cnn;
  const r = SimulateOptionsSchema.safeParse({
    tabs: num(values.tabs, 10),
    rounds: num(values.rounds, 20),
    split: (values.split ?? 'dirichlet:0.5').toLowerCase(),
    strategy: values.strategy ?? RECOMMENDED_STRATEGY.name,
    strategyOptions: values['strategy-options'] !== undefined ? jsonOption('--strategy-options', values['strategy-options']) : values.strategy === undefined ? { ...RECOMMENDED_STRATEGY.options } : {},
    model,
    dataset: (values.dataset ?? 'mnist').toLowerCase(),
    nodeClients: num(values['node-clients'], 0),
    combiners: num(values.combiners, 1),
    killTabEvery: num(values['kill-tab-every'], 0),
    killCombinerAtRound: num(values['kill-combiner-at-round'], 0),
    shardSize: num(values['shard-size'], d.shardSize),
    epochs: num(values.epochs, d.epochs),
    batchSize: num(values['batch-size'], d.batchSize),
    learningRate: num(values.lr, d.learningRate),
    learningRateDecay: num(values['lr-decay'], 1),
    optimizer: values.optimizer ?? d.optimizer,
    encoding: values.encoding ?? 'int8',
    downloads: values.downloads ?? 'delta',
    compareDownloads: values['compare-downloads'] ?? false,
    backend: values.backend ?? d.backend,
    seed: num(values.seed, 42),
    roundTimeoutS: num(values['round-timeout'], 600),
    centralized: !values['no-centralized'],
    out: values.out ?? 'bench/results/simulate.json',
    headful: values.headful ?? false,
  });
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`bad option ${issue?.path.join('.') ?? ''}: ${issue?.message}\n\n${USAGE}`);
  }
  if (r.data.killCombinerAtRound > 0 && r.data.combiners < 2) throw new Error('--kill-combiner-at-round needs --combiners 2 or more (the surviving combiners finish the run)');
  return r.data;
}
