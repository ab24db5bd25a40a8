/**
 * Simulation helpers for strategy tests and the `strategies` benchmark, and the REFERENCE CLIENT-SIDE LOGIC
 * of the strategies that need the client's cooperation (the SDK's train loop mirrors these functions):
 *
 *  - FedProx: {@link addProximalTerm} — add μ (w − w_global) to every local gradient (`settings.strategy.mu`).
 *  - SCAFFOLD: {@link addScaffoldCorrection} — add (c − c_i) to every local gradient; after K local steps
 *    {@link scaffoldControlUpdate} gives c_i⁺ and the Δc_i sent as `c/<name>` tensors.
 *
 * The model is multinomial logistic regression on MNIST (784 × 10 weights `w0` + 10 biases `w1`, 7,850
 * parameters) in plain Float32Array maths, no tfjs: enough to see strategies differ, fast enough for tests.
 * Data comes from the simulation module (`../sim`): the `mnist` package's digits with a fixed test split.
 */
import { encodeFrame, unflattenTensors } from '@fedweb/codec';
import type { Encoding, NamedTensor, TensorSpec } from '@fedweb/codec';
import { decodePartial, encodePartial } from './partial-codec.js';
import { createFoldTools } from './fold-tools.js';
import { createRng, mixSeed } from '@fedweb/codec';
import { SCAFFOLD_PREFIX } from './scaffold/index.js';
import type { ClientUpdate, PartialAggregate, Strategy, StrategyContext } from './types.js';

/** Pixels per digit and classes. */
export const INPUTS = 784;
export const CLASSES = 10;

/** The logistic-regression model: `w0` [784, 10] row-major (input-major), `w1` [10]. */
export const LOGREG_LAYOUT: TensorSpec[] = [
  { name: 'w0', shape: [INPUTS, CLASSES] },
  { name: 'w1', shape: [CLASSES] },
];
export const LOGREG_PARAMS = INPUTS * CLASSES + CLASSES;

/** Labelled examples: `x` is n × 784 floats in [0, 1], `y` the labels (the shape of `../sim`'s MnistSet). */
export interface Examples {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

/**
 * Adds the mean softmax cross-entropy gradient of `indices` into `grad` (zeroed by the caller) and returns
 * the mean loss. Zero pixels are skipped (MNIST is ~80% zeros).
 * @example
 * ```ts
 * const grad = new Float32Array(LOGREG_PARAMS);
 * const loss = logregGradient(params, data, [0, 1, 2], grad);
 * ```
 */
export function logregGradient(params: Float32Array, data: Examples, indices: ArrayLike<number>, grad: Float32Array): number {
  const bias = INPUTS * CLASSES;
  const logits = new Float64Array(CLASSES);
  const b = indices.length;
  let loss = 0;
  for (let e = 0; e < b; e++) {
    const i = indices[e]!;
    const xo = i * INPUTS;
    for (let k = 0; k < CLASSES; k++) logits[k] = params[bias + k]!;
    for (let j = 0; j < INPUTS; j++) {
      const xv = data.x[xo + j]!;
      if (xv === 0) continue;
      const wo = j * CLASSES;
      for (let k = 0; k < CLASSES; k++) logits[k] = logits[k]! + xv * params[wo + k]!;
    }
    let max = -Infinity;
    for (let k = 0; k < CLASSES; k++) max = Math.max(max, logits[k]!);
    let z = 0;
    for (let k = 0; k < CLASSES; k++) {
      logits[k] = Math.exp(logits[k]! - max);
      z += logits[k]!;
    }
    const label = data.y[i]!;
    loss += -Math.log(Math.max(logits[label]! / z, 1e-12));
    // dL/dlogit_k = p_k − [k = label], averaged over the batch.
    for (let k = 0; k < CLASSES; k++) logits[k] = (logits[k]! / z - (k === label ? 1 : 0)) / b;
    for (let j = 0; j < INPUTS; j++) {
      const xv = data.x[xo + j]!;
      if (xv === 0) continue;
      const wo = j * CLASSES;
      for (let k = 0; k < CLASSES; k++) grad[wo + k] = grad[wo + k]! + xv * logits[k]!;
    }
    for (let k = 0; k < CLASSES; k++) grad[bias + k] = grad[bias + k]! + logits[k]!;
  }
  return loss / Math.max(1, b);
}

/**
 * Mean cross-entropy loss and accuracy of the model on a set.
 * @example
 * ```ts
 * const { loss, accuracy } = evaluateLogreg(model, test);
 * ```
 */
export function evaluateLogreg(params: Float32Array, data: Examples): { loss: number; accuracy: number } {
  const bias = INPUTS * CLASSES;
  const logits = new Float64Array(CLASSES);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < data.n; i++) {
    const xo = i * INPUTS;
    for (let k = 0; k < CLASSES; k++) logits[k] = params[bias + k]!;
    for (let j = 0; j < INPUTS; j++) {
      const xv = data.x[xo + j]!;
      if (xv === 0) continue;
      for (let k = 0; k < CLASSES; k++) logits[k] = logits[k]! + xv * params[j * CLASSES + k]!;
    }
    let max = -Infinity;
    let arg = 0;
    for (let k = 0; k < CLASSES; k++) if (logits[k]! > max) { max = logits[k]!; arg = k; }
    let z = 0;
    for (let k = 0; k < CLASSES; k++) z += Math.exp(logits[k]! - max);
    const label = data.y[i]!;
    loss += -(logits[label]! - max - Math.log(z));
    if (arg === label) correct++;
  }
  return { loss: loss / data.n, accuracy: correct / data.n };
}

// ------------------------------------------------------------------ client-side reference logic

/**
 * FedProx (Li et al. 2020): the gradient of μ/2 ‖w − w_global‖² is μ (w − w_global); add it to every local
 * gradient. `mu` comes from `settings.strategy.mu`.
 * @example
 * ```ts
 * addProximalTerm(grad, weights, globalWeights, settings.strategy.mu);
 * ```
 */
export function addProximalTerm(grad: Float32Array, w: Float32Array, wGlobal: Float32Array, mu: number): void {
  if (mu === 0) return;
  for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! + mu * (w[i]! - wGlobal[i]!);
}

/**
 * SCAFFOLD (Karimireddy et al. 2020, Alg. 1 line 10): the corrected local step uses g_i(y) − c_i + c;
 * add (c − c_i) to every local gradient.
 * @example
 * ```ts
 * addScaffoldCorrection(grad, serverControl, clientControl);
 * ```
 */
export function addScaffoldCorrection(grad: Float32Array, c: Float32Array, ci: Float32Array): void {
  for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! + c[i]! - ci[i]!;
}

/**
 * SCAFFOLD option II (Alg. 1 line 12): c_i⁺ = c_i − c + (x − y)/(K η_l), after K local steps of size η_l
 * from the global x to the local y. Returns c_i⁺ (keep it on the device) and Δc_i = c_i⁺ − c_i (send it as
 * the `c/<name>` tensors of the update).
 * @example
 * ```ts
 * const { next, delta } = scaffoldControlUpdate(ci, c, x, y, steps, lr);
 * ```
 */
export function scaffoldControlUpdate(
  ci: Float32Array,
  c: Float32Array,
  x: Float32Array,
  y: Float32Array,
  steps: number,
  lr: number,
): { next: Float32Array; delta: Float32Array } {
  const next = new Float32Array(ci.length);
  const delta = new Float32Array(ci.length);
  const inv = 1 / (Math.max(1, steps) * lr);
  for (let i = 0; i < ci.length; i++) {
    next[i] = ci[i]! - c[i]! + (x[i]! - y[i]!) * inv;
    delta[i] = next[i]! - ci[i]!;
  }
  return { next, delta };
}

export interface LocalTrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Shuffling seed. */
  seed: number;
  /** `settings.strategy` from the task (FedProx `mu`, SCAFFOLD `scaffold`). */
  strategySettings?: Record<string, unknown>;
  /** SCAFFOLD: the server control variate c (from the `c/...` tensors). */
  serverControl?: Float32Array;
  /** SCAFFOLD: this client's control variate c_i (zeros at first). */
  clientControl?: Float32Array;
}

export interface LocalTrainResult {
  /** Δ = local − global. */
  delta: Float32Array;
  /** SCAFFOLD: Δc_i (to send) and c_i⁺ (to keep). */
  controlDelta?: Float32Array;
  nextControl?: Float32Array;
  numExamples: number;
  steps: number;
  /** Mean training loss of the last epoch. */
  loss: number;
}

/**
 * Local minibatch SGD on the logistic regression, with the FedProx and SCAFFOLD client hooks applied when
 * the task's strategy settings ask for them. The SDK's train loop should do the same around tfjs.
 * @example
 * ```ts
 * const r = localTrain(global, shard, { epochs: 1, batchSize: 32, learningRate: 0.1, seed: 1, strategySettings: { mu: 0.1 } });
 * ```
 */
export function localTrain(global: Float32Array, data: Examples, o: LocalTrainOptions): LocalTrainResult {
  const w = new Float32Array(global);
  const grad = new Float32Array(w.length);
  const mu = typeof o.strategySettings?.mu === 'number' ? o.strategySettings.mu : 0;
  const scaffold = o.strategySettings?.scaffold !== undefined;
  const c = o.serverControl ?? new Float32Array(w.length);
  const ci = o.clientControl ?? new Float32Array(w.length);
  const rng = createRng(o.seed);
  const order = Array.from({ length: data.n }, (_, i) => i);
  let steps = 0;
  let loss = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    // Fisher-Yates with the seeded generator.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let epochLoss = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += o.batchSize) {
      grad.fill(0);
      epochLoss += logregGradient(w, data, order.slice(start, start + o.batchSize), grad);
      batches++;
      addProximalTerm(grad, w, global, mu);
      if (scaffold) addScaffoldCorrection(grad, c, ci);
      for (let i = 0; i < w.length; i++) w[i] = w[i]! - o.learningRate * grad[i]!;
      steps++;
    }
    loss = epochLoss / Math.max(1, batches);
  }
  const delta = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) delta[i] = w[i]! - global[i]!;
  const out: LocalTrainResult = { delta, numExamples: data.n, steps, loss };
  if (scaffold) {
    const { next, delta: dc } = scaffoldControlUpdate(ci, c, global, w, steps, o.learningRate);
    out.controlDelta = dc;
    out.nextControl = next;
  }
  return out;
}

// ------------------------------------------------------------------ federated simulation

export interface SimulationOptions {
  strategy: Strategy<any, any>;
  /** Raw options, parsed with the strategy's schema. */
  options?: unknown;
  clients: Examples[];
  test: Examples;
  rounds: number;
  /**
   * Local work. `epochs` may differ per client (an array indexed by client): the "systems heterogeneity"
   * of Li et al. 2020, where devices do variable amounts of work.
   */
  local: { epochs: number | number[]; batchSize: number; learningRate: number };
  seed: number;
  /** Combiners the clients are spread over (partials go through encodePartial/decodePartial). Default 1. */
  combiners?: number;
  /** Update encoding (default f32). */
  encoding?: Encoding;
  /** Clients sampled (seeded, without replacement) per round; default all (partial participation when fewer). */
  clientsPerRound?: number;
  /** One misbehaving client: its delta is multiplied by `scale` (e.g. 100). */
  attack?: { client: number; scale: number };
}

export interface SimulationResult {
  /** After each round: test loss and accuracy of the global model. */
  history: { round: number; loss: number; accuracy: number; metrics?: Record<string, number> }[];
  initial: { loss: number; accuracy: number };
  model: Float32Array;
  /** Wall time of each `serverStep` call, ms (for reports only; never asserted). */
  serverStepMs: number[];
}

function toNamed(flat: Float32Array, prefix = ''): NamedTensor[] {
  return unflattenTensors(flat, LOGREG_LAYOUT).map((t) => ({ ...t, name: prefix + t.name }));
}

/**
 * Runs `rounds` federated rounds of the logistic regression with the given strategy: every client trains
 * locally (with the FedProx/SCAFFOLD hooks the strategy's `configureFit` asks for), its update travels as
 * a real codec frame, combiners fold, the reducer merges and steps. Async strategies (FedBuff) get
 * updates from odd-numbered clients one model version stale.
 * @example
 * ```ts
 * const r = await simulate({ strategy: fedavg, clients, test, rounds: 10, local: { epochs: 1, batchSize: 32, learningRate: 0.1 }, seed: 1 });
 * ```
 */
export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  const s = o.strategy;
  const options = s.optionsSchema.parse(o.options ?? {});
  const paramCount = LOGREG_PARAMS;
  const ctxFor = (round: number): StrategyContext => ({ sessionId: 'sim', round, layout: LOGREG_LAYOUT, paramCount, seed: mixSeed(o.seed, round) });
  let global: Float32Array = new Float32Array(paramCount);
  let previous: Float32Array = global;
  let state = s.initState(options, global, ctxFor(1));
  const controls: Float32Array[] = o.clients.map(() => new Float32Array(paramCount));
  const tools = createFoldTools({ layout: LOGREG_LAYOUT });
  const combiners = Math.max(1, o.combiners ?? 1);
  const history: SimulationResult['history'] = [];
  const serverStepMs: number[] = [];
  const initial = evaluateLogreg(global, o.test);

  for (let round = 1; round <= o.rounds; round++) {
    const ctx = ctxFor(round);
    const settings = s.configureFit(options, state, ctx);
    const extra = s.clientTensors?.(options, state, ctx) ?? [];
    const serverControl = extra.length > 0 ? flattenPrefixed(extra, SCAFFOLD_PREFIX) : undefined;
    const partials: PartialAggregate[] = Array.from({ length: combiners }, () => s.createPartial(options, ctx));
    const picked = sampleClients(o.clients.length, o.clientsPerRound ?? o.clients.length, mixSeed(o.seed ^ 0x5eed, round));
    for (const i of picked) {
      const stale = s.mode === 'async' && i % 2 === 1 && round > 1;
      const base = stale ? previous : global;
      const epochs = Array.isArray(o.local.epochs) ? o.local.epochs[i % o.local.epochs.length]! : o.local.epochs;
      const r = localTrain(base, o.clients[i]!, {
        ...o.local,
        epochs,
        seed: mixSeed(o.seed, round * 1000 + i),
        strategySettings: settings,
        ...(serverControl ? { serverControl, clientControl: controls[i]! } : {}),
      });
      if (o.attack && o.attack.client === i) for (let j = 0; j < r.delta.length; j++) r.delta[j] = r.delta[j]! * o.attack.scale;
      const tensors = toNamed(r.delta);
      if (r.controlDelta && r.nextControl) {
        tensors.push(...toNamed(r.controlDelta, SCAFFOLD_PREFIX));
        controls[i] = r.nextControl;
      }
      const update: ClientUpdate = {
        clientId: `client-${i}`,
        frame: await encodeFrame(tensors, { encoding: o.encoding ?? 'f32' }),
        numExamples: r.numExamples,
        staleness: stale ? 1 : 0,
      };
      await s.foldUpdate(options, partials[i % combiners]!, update, tools, ctx);
    }
    let merged = partials[0]!;
    for (let k = 1; k < combiners; k++) {
      const wire = await decodePartial(await encodePartial(partials[k]!), { tensorLength: paramCount });
      merged = s.mergePartials(options, merged, wire, ctx);
    }
    const t0 = performance.now();
    const res = s.serverStep(options, state, global, merged, ctx);
    serverStepMs.push(performance.now() - t0);
    if (res) {
      previous = global;
      global = res.model;
      state = res.state;
    }
    history.push({ round, ...evaluateLogreg(global, o.test), ...(res?.metrics ? { metrics: res.metrics } : {}) });
  }
  return { history, initial, model: global, serverStepMs };
}

/** k distinct client indices out of n, seeded (partial Fisher-Yates), in ascending order. */
function sampleClients(n: number, k: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return idx;
  const rng = createRng(seed);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

function flattenPrefixed(tensors: NamedTensor[], prefix: string): Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const out = new Float32Array(LOGREG_PARAMS);
  let off = 0;
  for (const spec of LOGREG_LAYOUT) {
    const t = byName.get(prefix + spec.name);
    if (t) out.set(t.data, off);
    off += spec.shape.reduce((a, b) => a * b, 1);
  }
  return out;
}
