/**
 * The boundary between FedClient (page / Node main thread) and the trainer (a Web Worker in browsers,
 * in-process or a worker_thread in Node). In browsers it is exposed with comlink; every ArrayBuffer that
 * crosses it is transferred (`Comlink.transfer`), never copied.
 */
import type { ComputePackageManifest, Metrics, TrainSettings } from '@fedweb/codec';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

/** Why a backend was chosen: measured examples/s per backend, or why it could not train this model. */
export interface BackendReport {
  chosen: BackendName;
  /** e.g. `{ webgpu: '18 ex/s', webgl: '95 ex/s', wasm: 'missing kernel Conv2DBackpropFilter', cpu: '45 ex/s' }` */
  candidates: Partial<Record<BackendName, string>>;
  /** True when the decision came from the IndexedDB / file cache instead of a fresh probe. */
  cached: boolean;
}

/**
 * Local examples, as flat typed arrays (the buffers are transferred to the trainer and stay on this device).
 * `x` has shape `[n, ...xShape]`; `y` holds `n` integer class labels (or `[n, ...yShape]` floats).
 */
export interface Dataset {
  x: Float32Array;
  xShape: number[];
  y: Float32Array | Int32Array;
  yShape: number[];
  /** Optional held-out part used by `validate`; when absent, validate uses the training data. */
  validation?: { x: Float32Array; y: Float32Array | Int32Array };
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
}

export interface TrainRequest {
  roundId: string;
  /** The global model as an f32 frame (tensors `w0..wN`), transferred. */
  model: ArrayBuffer;
  settings: TrainSettings;
  /**
   * Top-k error-feedback residual carried from the previous round (flat f32 in model layout), restored by
   * FedClient from its cache after a reload; transferred. Absent: the trainer uses what it holds in memory, or zeros.
   * (Additive field, added by the FedClient side.)
   */
  residual?: ArrayBuffer;
  /**
   * SCAFFOLD (`settings.strategy.scaffold`): the f32 frame FedClient fetched from the BlobRef in
   * `settings.strategy.tensors` (server control variate, tensors `c/w0..c/wN`), SHA-256-verified; transferred.
   * Absent under SCAFFOLD: c = 0. (Additive field, added by the trainer side.)
   */
  strategyTensors?: ArrayBuffer;
  /**
   * SCAFFOLD: this client's control variate c_i (flat f32, model layout) restored from the cache; transferred.
   * Absent: the trainer uses what it holds in memory, or zeros. (Additive field, added by the trainer side.)
   */
  controlVariate?: ArrayBuffer;
}

export interface TrainResult {
  /** The encoded update frame (delta = local - global; encoding from settings, deflated), transferred. */
  update: ArrayBuffer;
  numExamples: number;
  metrics: Metrics;
  trainMs: number;
  /** Bytes the same update would take as raw f32 (for the "bytes saved" display). */
  f32Bytes: number;
  /**
   * With `encoding: 'topk'`: the error-feedback residual left after this round (flat f32, model layout), transferred,
   * so FedClient can persist it for the next round across reloads. (Additive field, added by the FedClient side.)
   */
  residual?: ArrayBuffer;
  /**
   * SCAFFOLD: the updated client control variate c_i⁺ (flat f32, model layout), transferred, for FedClient to
   * persist per session. (Additive field, added by the trainer side.)
   */
  controlVariate?: ArrayBuffer;
}

export interface ValidateResult {
  numExamples: number;
  metrics: Metrics;
}

/** The trainer's API. All methods reject with a FedError-shaped error (`code` from the codec's table). */
export interface TrainerApi {
  /** Records the backend choice and wasm file location; for `auto`, `loadPackage` probes with THIS model and keeps the fastest. */
  init(opts: { backend: BackendChoice; wasmPaths?: string }): Promise<void>;
  /** Loads the compute package bundle (already SHA-256-verified by the caller; verified again here). */
  loadPackage(code: ArrayBuffer, manifest: ComputePackageManifest): Promise<BackendReport>;
  setData(data: Dataset): Promise<{ numExamples: number }>;
  /** Trains from the given global model; `onProgress` is a comlink proxy in browsers. Aborts via `abort()`. */
  train(req: TrainRequest, onProgress?: (p: TrainProgress) => void): Promise<TrainResult>;
  validate(model: ArrayBuffer): Promise<ValidateResult>;
  /** Predicts class probabilities for one input (the demo's "draw a digit"). */
  predict(model: ArrayBuffer, x: Float32Array, xShape: number[]): Promise<Float32Array>;
  abort(reason?: string): Promise<void>;
  /** tf.memory() of the trainer, to check tensors do not leak across rounds. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  dispose(): Promise<void>;
}
