/**
 * The centralized baseline, one implementation for the page (`centralized.html`, a trainer worker) and Node
 * (the harness's in-process trainer): the same compute package trained from the same seed model on the union
 * of the clients' shards, with the federated run's schedule (`./schedule.ts`). Browser- and Node-safe: it
 * only talks to a trainer API it is handed.
 */
import type { ComputePackageManifest, Metrics } from '@fedweb/codec';
import type { BackendChoice, TrainerApi, TrainProgress } from '@fedweb/sdk-client';
import { trainOnSchedule, type ScheduleOptions } from './schedule.js';

/**
 * The run's schedule and settings the baseline copies.
 * @example
 * ```ts
 * const plan: CentralizedPlan = { rounds: 20, epochsPerRound: 1, batchSize: 32, learningRate: 0.1, learningRateDecay: 1, extra: {} };
 * ```
 */
export interface CentralizedPlan {
  rounds: number;
  epochsPerRound: number;
  batchSize: number;
  learningRate: number;
  /** Per-round learning-rate factor of the federated run (1 = constant). */
  learningRateDecay: number;
  /** Settings extras over the manifest's (e.g. `{ optimizer: 'momentum' }`), as a session's `extra`. */
  extra?: Record<string, unknown>;
}

/**
 * What the baseline trains: the package, its seed model and the union of the shards (MNIST digits, 28x28x1).
 * @example
 * ```ts
 * const input: CentralizedInput = { code, manifest, seed, x, y, backend: 'webgl' };
 * ```
 */
export interface CentralizedInput {
  code: ArrayBuffer;
  manifest: ComputePackageManifest;
  /** The seed model, an f32 frame. */
  seed: Uint8Array;
  x: Float32Array;
  y: Int32Array;
  backend: BackendChoice;
}

/**
 * The trained baseline.
 * @example
 * ```ts
 * const { model, backend }: CentralizedTrained = await trainCentralized(api, input, plan);
 * ```
 */
export interface CentralizedTrained {
  /** The trained model, an f32 frame. */
  model: Uint8Array;
  numExamples: number;
  trainMs: number;
  /** The tfjs backend the trainer chose. */
  backend: string;
  metrics: Metrics;
}

/**
 * Trains the baseline with `trainer` (a worker's or the in-process trainer's API).
 * @example
 * ```ts
 * const { api, terminate } = createInProcessTrainer();
 * try { const r = await trainCentralized(api, input, plan); } finally { await terminate(); }
 * ```
 */
export async function trainCentralized(
  trainer: Pick<TrainerApi, 'loadPackage' | 'setData' | 'train'> & { init(opts: { backend: BackendChoice }): Promise<void> },
  input: CentralizedInput,
  plan: CentralizedPlan,
  onProgress?: (p: TrainProgress) => void,
): Promise<CentralizedTrained> {
  await trainer.init({ backend: input.backend });
  const report = await trainer.loadPackage(input.code, input.manifest);
  await trainer.setData({ x: input.x, xShape: [28, 28, 1], y: input.y, yShape: [] });
  const schedule: ScheduleOptions = { ...plan, extra: { ...(input.manifest.settings ?? {}), ...plan.extra } };
  const r = await trainOnSchedule((model, settings) => trainer.train({ roundId: 'centralized', model, settings }, onProgress), input.seed, schedule);
  return { model: r.model, numExamples: r.numExamples, trainMs: r.trainMs, backend: report.chosen, metrics: r.metrics };
}

/**
 * What the harness asks the page for (`window.fedwebCentralized(request)`, `centralized.html`).
 * @example
 * ```ts
 * const req: CentralizedRequest = { shards: [0, 1], rounds: 20, epochsPerRound: 1, batchSize: 32, learningRate: 0.1, learningRateDecay: 1, backend: 'webgl' };
 * ```
 */
export interface CentralizedRequest extends CentralizedPlan {
  shards: number[];
  backend: BackendChoice;
}

/**
 * What the page hands back to the harness (JSON-safe: the model as base64).
 * @example
 * ```ts
 * const model = new Uint8Array(Buffer.from(result.modelBase64, 'base64'));
 * ```
 */
export interface CentralizedResult {
  /** The trained model as an f32 frame, base64. */
  modelBase64: string;
  numExamples: number;
  trainMs: number;
  backend: string;
  metrics: Record<string, number>;
}
