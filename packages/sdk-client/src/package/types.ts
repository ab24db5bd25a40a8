/**
 * The compute-package contract: what an ES module bundle must export to be trained by fedweb.
 *
 * A package never bundles tfjs: every entry point receives the trainer's `tf` (the worker's in browsers,
 * `@tensorflow/tfjs` in Node), so the same bundle runs on WebGPU, WebGL, WASM or CPU. Only `createModel`
 * is required; without `train` the trainer runs its standard loop ({@link TrainHooks.trainLoop}), without
 * `validate` it computes loss and accuracy itself.
 *
 * @example
 * ```ts
 * import type * as TF from '@tensorflow/tfjs';
 * import type { ComputePackageModule } from '@fedweb/sdk-client/trainer';
 *
 * export const meta = { inputShape: [784], numClasses: 10, settings: { localEpochs: 1, batchSize: 32, learningRate: 0.1 } };
 * export function createModel(tf: typeof TF) {
 *   const m = tf.sequential();
 *   m.add(tf.layers.dense({ inputShape: [784], units: 10, activation: 'softmax' }));
 *   return m;
 * }
 * export const train: ComputePackageModule['train'] = (tf, model, data, settings, hooks) => hooks.trainLoop();
 * ```
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Metrics, TrainSettings } from '@fedweb/codec';
import type { TrainProgress } from '../trainer/api.js';

/** The tfjs namespace handed to packages (`import * as tf from '@tensorflow/tfjs'` in the trainer). */
export type Tf = typeof TfModule;
/** A tfjs Layers model (what `createModel` returns). */
export type Model = TfModule.LayersModel;
type Tensor = TfModule.Tensor;
type Scalar = TfModule.Scalar;

/** A loss: labels (one-hot for classification) and model outputs in, a scalar out. */
export type LossFn = (tf: Tf, labels: Tensor, outputs: Tensor) => Scalar;

/** Local data as the package sees it: flat arrays that never leave this device. */
export interface PackageData {
  /** `[numExamples, ...xShape]`, row-major. */
  x: Float32Array;
  xShape: number[];
  /** Integer class labels (`Int32Array`, `yShape` `[]`) or float targets `[numExamples, ...yShape]`. */
  y: Float32Array | Int32Array;
  yShape: number[];
  numExamples: number;
  /** Classes of the model's output (last output dimension); 0 when the output is not a class vector. */
  numClasses: number;
}

/** Options of the standard training loop; each defaults to the round's settings. */
export interface TrainLoopOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** `sgd` (default), `adam`, `momentum` (0.9), or a factory. A fresh optimizer per round, as in FedAvg. */
  optimizer?: 'sgd' | 'adam' | 'momentum' | ((tf: Tf, learningRate: number) => TfModule.Optimizer);
  /** Overrides the loss chosen from the model's last activation (see `defaultLoss`). */
  loss?: LossFn;
  /** Shuffle the examples every epoch (default true). */
  shuffle?: boolean;
}

/** What a round of local training produced (the trainer computes and encodes the weight delta itself). */
export interface TrainOutcome {
  /** Examples used (the FedAvg weight). */
  numExamples: number;
  metrics: Metrics;
}

/**
 * Hooks the trainer gives a package's `train`. FedProx's proximal term and the SCAFFOLD correction live in
 * `trainStep` / `trainLoop`, so a package that trains through them gets every strategy for free.
 */
export interface TrainHooks {
  /** Aborted when the round is cancelled or the client stops; check it between batches. */
  signal: AbortSignal;
  /** Report progress (throttled before it reaches the page). */
  onBatchEnd(progress: TrainProgress): void;
  /** The standard loop: epochs of shuffled mini-batches through `trainStep`, progress and abort handled. */
  trainLoop(opts?: TrainLoopOptions): Promise<TrainOutcome>;
  /**
   * One optimisation step on a batch (labels one-hot for classification) with the session's corrections.
   * Returns the batch's data loss (without the proximal term); the caller disposes it.
   */
  trainStep(x: Tensor, y: Tensor): Scalar;
  /** Yields to the event loop so that `abort()` and progress messages get through (cheap: a MessageChannel hop). */
  yield(): Promise<void>;
}

/** What a compute package module exports. */
export interface ComputePackageModule {
  createModel(tf: Tf, settings: Record<string, unknown>): Model | Promise<Model>;
  train?(tf: Tf, model: Model, data: PackageData, settings: TrainSettings, hooks: TrainHooks): Promise<TrainOutcome>;
  validate?(tf: Tf, model: Model, data: PackageData): Promise<Metrics>;
  /** Optional loss used by the standard loop and the default validation. */
  loss?: LossFn;
  /** Optional description picked up by the build tool into the manifest. */
  meta?: PackageMeta;
}

/** Static facts a package may export as `meta`; the build tool copies them into `manifest.json`. */
export interface PackageMeta {
  inputShape?: number[];
  numClasses?: number;
  description?: string;
  /** Default client settings (`localEpochs`, `batchSize`, `learningRate`, ...), merged under the session's. */
  settings?: Record<string, unknown>;
}
