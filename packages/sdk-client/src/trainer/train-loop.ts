/**
 * The one place where a local optimisation step happens, so that every strategy's client-side correction
 * (FedProx's proximal term, SCAFFOLD's control variates) is applied the same way whether the package trains
 * through the standard loop or writes its own loop around {@link trainStep}.
 */
import type * as TfModule from '@tensorflow/tfjs';
import { createRng, fedError, shuffleInPlace } from '@fedweb/codec';
import type { LossFn, Model, PackageData, Tf, TrainLoopOptions, TrainOutcome } from '../package/types.js';
import type { TrainProgress } from './api.js';

type Tensor = TfModule.Tensor;
type Scalar = TfModule.Scalar;
type Variable = TfModule.Variable;

/** Client-side strategy corrections applied to each gradient before the optimizer step. */
export interface Corrections {
  /**
   * FedProx μ (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020, eq. 2): the local
   * objective is F(w) + μ/2‖w − w_global‖², whose gradient adds μ(w − w_global). 0 disables it.
   */
  mu: number;
  /** The global trainable weights, in trainable-variable order (required when `mu > 0`). */
  global: Tensor[] | null;
  /**
   * SCAFFOLD (Karimireddy et al., ICML 2020, Algorithm 1 line 10): y ← y − η(g(y) − c_i + c). We add
   * `c − c_i` to each gradient, one tensor per trainable variable. Null disables it.
   */
  control: Tensor[] | null;
}

/** Everything one round of local training needs; built by the trainer, disposed at the end of the round. */
export interface RoundContext {
  tf: Tf;
  model: Model;
  /** The model's trainable variables, in `model.weights` order (trainable weights come first there). */
  vars: Variable[];
  optimizer: TfModule.Optimizer;
  loss: LossFn;
  corrections: Corrections;
  /** Optimisation steps taken so far this round (SCAFFOLD's K). */
  steps: number;
  /** The optimizer's learning rate (SCAFFOLD's η_l). */
  learningRate: number;
}

/**
 * The trainable variables of a Layers model, in `model.getWeights()` order. tfjs puts trainable weights first
 * in `model.weights`, so index i here is tensor `w{i}` of the frame.
 */
export function trainableVariables(model: Model): Variable[] {
  // LayerVariable.read() returns the backing tf.Variable itself (typed as Tensor in tfjs' d.ts).
  return model.trainableWeights.map((w) => w.read() as Variable);
}

/**
 * Picks the loss from the model's last activation and the label kind: softmax → categorical cross-entropy,
 * sigmoid → binary cross-entropy, class labels with a linear output → softmax cross-entropy on logits,
 * anything else → mean squared error.
 *
 * @example
 * ```ts
 * const loss = defaultLoss(model, true);
 * const l = loss(tf, oneHotLabels, model.predict(x) as tf.Tensor);
 * ```
 */
export function defaultLoss(model: Model, classLabels: boolean): LossFn {
  const last = model.layers[model.layers.length - 1];
  const activation = last ? (last.getConfig() as { activation?: unknown }).activation : undefined;
  if (activation === 'softmax') return (tf, y, p) => tf.mean(tf.metrics.categoricalCrossentropy(y, p)) as Scalar;
  if (activation === 'sigmoid') return (tf, y, p) => tf.mean(tf.metrics.binaryCrossentropy(y, p)) as Scalar;
  if (classLabels) return (tf, y, logits) => tf.losses.softmaxCrossEntropy(y, logits) as Scalar;
  return (tf, y, p) => tf.losses.meanSquaredError(y, p) as Scalar;
}

/**
 * One optimisation step on a batch, with the round's corrections (FedProx, SCAFFOLD) added to the gradients.
 * Returns the batch's data loss (the proximal term is not included, so losses compare across strategies);
 * every intermediate tensor is released by `tf.tidy`, the caller disposes the returned scalar.
 *
 * @example
 * ```ts
 * const loss = trainStep(ctx, xBatch, yBatchOneHot);
 * console.log(await loss.data());
 * loss.dispose();
 * ```
 */
export function trainStep(ctx: RoundContext, x: Tensor, y: Tensor): Scalar {
  const { tf, model, vars, optimizer, loss, corrections } = ctx;
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => loss(tf, y, model.apply(x, { training: true }) as Tensor), vars);
    const { mu, global, control } = corrections;
    if ((mu > 0 && global) || control) {
      vars.forEach((v, i) => {
        let g = grads[v.name];
        if (!g) return;
        const wg = global?.[i];
        if (mu > 0 && wg) g = tf.add(g, tf.mul(tf.sub(v, wg), mu));
        const c = control?.[i];
        if (c) g = tf.add(g, c);
        grads[v.name] = g;
      });
    }
    optimizer.applyGradients(grads);
    ctx.steps++;
    return value;
  });
}

/** Creates the optimizer the loop uses (a fresh one each round: FedAvg clients restart local SGD). */
export function createOptimizer(tf: Tf, kind: TrainLoopOptions['optimizer'], learningRate: number): TfModule.Optimizer {
  if (typeof kind === 'function') return kind(tf, learningRate);
  if (kind === 'adam') return tf.train.adam(learningRate);
  if (kind === 'momentum') return tf.train.momentum(learningRate, 0.9);
  if (kind === undefined || kind === 'sgd') return tf.train.sgd(learningRate);
  throw fedError('BAD_CONFIG', `unknown optimizer ${String(kind)} (use sgd, adam or momentum)`);
}

/**
 * Yields to the event loop with a macrotask, so that queued messages (abort, comlink calls) are handled.
 * `setImmediate` in Node; in browsers one long-lived MessageChannel (setTimeout is clamped to 4 ms, and a new
 * channel per yield costs a message pipe each time).
 *
 * @example
 * ```ts
 * await yieldToEventLoop(); // lets a pending abort() message run
 * ```
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'function') {
    if (!channel) {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => waiting.shift()?.();
      channel = ch;
    }
    const ch = channel;
    return new Promise((resolve) => {
      waiting.push(resolve);
      ch.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

/** Builds batch tensors `[b, ...xShape]` and labels (one-hot for class labels) from rows `idx[start..end)`. */
export function makeBatch(tf: Tf, data: PackageData, idx: Int32Array, start: number, end: number): { x: Tensor; y: Tensor } {
  const b = end - start;
  const fx = featureSize(data.xShape);
  const xb = new Float32Array(b * fx);
  for (let i = 0; i < b; i++) {
    const r = idx[start + i]!;
    xb.set(data.x.subarray(r * fx, (r + 1) * fx), i * fx);
  }
  const x = tf.tensor(xb, [b, ...data.xShape]);
  if (isClassLabels(data)) {
    const yb = new Int32Array(b);
    for (let i = 0; i < b; i++) yb[i] = data.y[idx[start + i]!]!;
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(yb, 'int32'), data.numClasses).toFloat());
    return { x, y };
  }
  const fy = featureSize(data.yShape);
  const ybf = new Float32Array(b * fy);
  for (let i = 0; i < b; i++) {
    const r = idx[start + i]!;
    ybf.set(data.y.subarray(r * fy, (r + 1) * fy), i * fy);
  }
  return { x, y: tf.tensor(ybf, [b, ...data.yShape]) };
}

/** True when `y` holds integer class labels (one per example). */
export function isClassLabels(data: Pick<PackageData, 'y' | 'yShape' | 'numClasses'>): boolean {
  return data.y instanceof Int32Array && featureSize(data.yShape) === 1 && data.numClasses > 0;
}

export function featureSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A seeded permutation (Fisher-Yates over the codec's seeded generator); the seed changes every epoch. */
function permutation(n: number, seed: number, shuffle: boolean): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return shuffle ? shuffleInPlace(idx, createRng(seed)) : idx;
}

/** Loop-level knobs that are not training hyper-parameters. */
export interface LoopHooks {
  signal: AbortSignal;
  onBatchEnd?: (p: TrainProgress) => void;
  /** Minimum ms between progress reports (each one reads the loss back from the device). Default 100. */
  progressEveryMs?: number;
  /**
   * Minimum ms between yields to the event loop (default 100): the latency of `abort()`. Each yield costs far
   * more than the hop itself (measured ~2 ms per yield with the threaded wasm backend in a worker), so not 16.
   */
  yieldEveryMs?: number;
  /** Seed of the epoch shuffles (default: random). */
  seed?: number;
}

/**
 * The standard local loop: `epochs` passes of shuffled mini-batches through {@link trainStep}. The only
 * synchronous read-back is the epoch's mean loss; progress reads (throttled) are asynchronous, so GPU backends
 * keep their command queue full. Yields to the event loop about every 100 ms so that `abort()` gets through.
 *
 * @example
 * ```ts
 * const out = await trainLoop(ctx, data, { epochs: 1, batchSize: 32 }, { signal });
 * out.metrics.loss; // mean data loss of the last epoch
 * ```
 */
export async function trainLoop(ctx: RoundContext, data: PackageData, opts: Required<Pick<TrainLoopOptions, 'epochs' | 'batchSize'>> & { shuffle?: boolean }, hooks: LoopHooks): Promise<TrainOutcome> {
  const { tf } = ctx;
  const n = data.numExamples;
  if (n <= 0) throw fedError('BAD_CONFIG', 'no local examples: call setData() with at least one example before training');
  const { epochs, batchSize } = opts;
  const batches = Math.ceil(n / batchSize);
  const every = hooks.progressEveryMs ?? 100;
  const yieldEvery = hooks.yieldEveryMs ?? 100;
  const seed = hooks.seed ?? Math.floor(Math.random() * 2 ** 31);
  let lastReport = -Infinity;
  let lastYield = performance.now();
  let lastEmitted = 0;
  let epochLoss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const idx = permutation(n, seed + epoch * 7919, opts.shuffle ?? true);
    // Batch losses stay on the device and are summed every FOLD batches: no per-batch ops beyond the step
    // itself, and no per-batch read-back (a GPU sync). Progress reads are asynchronous and never awaited here.
    let pending: { loss: Scalar; size: number }[] = [];
    let reads: Promise<void>[] = [];
    let sum: Scalar | null = null;
    const fold = async () => {
      await Promise.all(reads);
      reads = [];
      if (!pending.length) return;
      const parts = pending;
      pending = [];
      const prev = sum;
      sum = tf.tidy(() => {
        const bySize = new Map<number, Scalar[]>();
        for (const p of parts) bySize.set(p.size, [...(bySize.get(p.size) ?? []), p.loss]);
        const terms = [...bySize].map(([size, ls]) => tf.mul(ls.length === 1 ? ls[0]! : tf.addN(ls), size));
        if (prev) terms.push(prev);
        return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as Scalar;
      });
      prev?.dispose();
      tf.dispose(parts.map((p) => p.loss));
    };
    try {
      for (let b = 0; b < batches; b++) {
        if (hooks.signal.aborted) throw abortError(hooks.signal);
        const start = b * batchSize;
        const end = Math.min(n, start + batchSize);
        const loss = tf.tidy(() => {
          const { x, y } = makeBatch(tf, data, idx, start, end);
          return trainStep(ctx, x, y);
        });
        pending.push({ loss, size: end - start });
        const now = performance.now();
        const onBatchEnd = hooks.onBatchEnd;
        if (onBatchEnd && (b === batches - 1 || now - lastReport >= every)) {
          lastReport = now;
          const progress = { epoch: epoch + 1, epochs, batch: b + 1, batches };
          const order = epoch * batches + b + 1;
          reads.push(
            loss.data().then((v) => {
              if (order <= lastEmitted) return;
              lastEmitted = order;
              onBatchEnd({ ...progress, loss: v[0]! });
            }),
          );
        }
        if (pending.length >= FOLD) await fold();
        if (performance.now() - lastYield >= yieldEvery) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      await fold();
      epochLoss = sum ? (await (sum as Scalar).data())[0]! / n : NaN;
    } finally {
      await Promise.allSettled(reads);
      tf.dispose(pending.map((p) => p.loss));
      (sum as Scalar | null)?.dispose();
    }
    if (!Number.isFinite(epochLoss)) throw fedError('NON_FINITE', `local training diverged: loss is ${epochLoss} in epoch ${epoch + 1} (lower the learning rate)`);
  }
  return { numExamples: n, metrics: { loss: epochLoss } };
}

/** Batches whose losses are summed at once (bounds the scalars kept alive on the device). */
const FOLD = 64;

function abortError(signal: AbortSignal) {
  const r: unknown = signal.reason;
  return fedError('ABORTED', `training aborted${r instanceof Error ? `: ${r.message}` : typeof r === 'string' ? `: ${r}` : ''}`);
}

/**
 * Default validation: mean loss and (for class labels) accuracy, in batches of 256 without training.
 *
 * @example
 * ```ts
 * const { loss, accuracy } = await evaluate(tf, model, data, defaultLoss(model, true));
 * ```
 */
export async function evaluate(tf: Tf, model: Model, data: PackageData, loss: LossFn): Promise<{ loss: number; accuracy?: number }> {
  const n = data.numExamples;
  if (n <= 0) throw fedError('BAD_CONFIG', 'no examples to validate on');
  const idx = permutation(n, 0, false);
  const cls = isClassLabels(data);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += 256) {
    const end = Math.min(n, start + 256);
    const [l, c] = tf.tidy(() => {
      const { x, y } = makeBatch(tf, data, idx, start, end);
      const p = model.predict(x) as Tensor;
      const lv = tf.mul(loss(tf, y, p), end - start);
      const cv = cls ? tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), tf.argMax(y, -1)), 'float32')) : tf.scalar(0);
      return [lv, cv];
    });
    const [lv, cv] = await Promise.all([l.data(), c.data()]);
    l.dispose();
    c.dispose();
    lossSum += lv[0]!;
    correct += cv[0]!;
  }
  return cls ? { loss: lossSum / n, accuracy: correct / n } : { loss: lossSum / n };
}
