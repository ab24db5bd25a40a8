/**
 * The REFERENCE CLIENT-SIDE LOGIC of the strategies that need the client's cooperation (the SDK's train loop
 * mirrors these functions), on any {@link SimModel}:
 *
 *  - FedProx: {@link addProximalTerm} — add μ (w − w_global) to every local gradient (`settings.strategy.mu`).
 *  - SCAFFOLD: {@link addScaffoldCorrection} — add (c − c_i) to every local gradient; after K local steps
 *    {@link scaffoldControlUpdate} gives c_i⁺ and the Δc_i sent as `c/<name>` tensors.
 *  - FedSGD: {@link localGradient} — the gradient at the global model over one or more batches, sent as the update.
 */
import { createRng, shuffleInPlace } from '@fedweb/codec';
import { logreg } from './logreg.js';
import type { Examples, SimModel } from './sim-model.js';

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
  /** Heavy-ball momentum of the local optimizer (0 = plain SGD, the default; fresh every round). */
  momentum?: number;
  /** The model trained (default: the logistic regression). */
  model?: SimModel;
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
  const model = o.model ?? logreg;
  const beta = o.momentum ?? 0;
  const velocity = beta > 0 ? new Float32Array(global.length) : null;
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
      epochLoss += model.gradient(w, data, order.slice(start, start + o.batchSize), grad);
      batches++;
      addProximalTerm(grad, w, global, mu);
      if (scaffold) addScaffoldCorrection(grad, c, ci);
      if (velocity) {
        // tf.train.momentum: v = β v + g; w −= η v.
        for (let i = 0; i < w.length; i++) {
          velocity[i] = beta * velocity[i]! + grad[i]!;
          w[i] = w[i]! - o.learningRate * velocity[i]!;
        }
      } else for (let i = 0; i < w.length; i++) w[i] = w[i]! - o.learningRate * grad[i]!;
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

/** How a FedSGD client computes its gradient (`settings.strategy.fedsgd`, see `fedsgd/index.ts`). */
export interface LocalGradientOptions {
  /** Mini-batches of `batchSize` examples (0 = the whole local set as one batch). */
  batches: number;
  batchSize: number;
  /** `mean`: the mean of the batch gradients; `sum`: their sum. */
  reduce: 'mean' | 'sum';
  seed: number;
  model?: SimModel;
}

/**
 * FedSGD's client side (McMahan et al. 2017, "FedSGD"; Flower/FEDn's AccumulateGradients): the gradient of the mean
 * loss at the GLOBAL model over `batches` seeded mini-batches (no local step between them), reduced by mean or sum.
 * It is sent as the update; the server's optimizer applies it.
 * @example
 * ```ts
 * const { gradient } = localGradient(global, shard, { batches: 2, batchSize: 32, reduce: 'mean', seed: 1 });
 * ```
 */
export function localGradient(global: Float32Array, data: Examples, o: LocalGradientOptions): { gradient: Float32Array; numExamples: number; loss: number } {
  const model = o.model ?? logreg;
  const rng = createRng(o.seed);
  const order = shuffleInPlace(Array.from({ length: data.n }, (_, i) => i), rng);
  const size = o.batches === 0 ? data.n : Math.min(o.batchSize, data.n);
  const count = o.batches === 0 ? 1 : o.batches;
  const gradient = new Float32Array(global.length);
  const g = new Float32Array(global.length);
  let loss = 0;
  let used = 0;
  for (let b = 0; b < count; b++) {
    // Batches wrap around the shuffled order when the client asks for more examples than it holds.
    const idx = Array.from({ length: size }, (_, i) => order[(b * size + i) % data.n]!);
    g.fill(0);
    loss += model.gradient(global, data, idx, g);
    for (let i = 0; i < g.length; i++) gradient[i] = gradient[i]! + g[i]!;
    used += size;
  }
  if (o.reduce === 'mean') for (let i = 0; i < gradient.length; i++) gradient[i] = gradient[i]! / count;
  return { gradient, numExamples: Math.min(used, data.n), loss: loss / count };
}
