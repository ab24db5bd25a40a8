/**
 * `@fedweb/sdk-client/trainer`: the trainer side of the SDK, for compute-package authors and advanced
 * embedders. Browser-safe (the Node in-process trainer is exported by `@fedweb/sdk-client/node`).
 *
 * @example
 * ```ts
 * import type { ComputePackageModule, TrainHooks } from '@fedweb/sdk-client/trainer';
 * export const train: ComputePackageModule['train'] = (tf, model, data, settings, hooks: TrainHooks) => hooks.trainLoop();
 * ```
 */
export type { BackendChoice, BackendName, BackendReport, Dataset, TrainerApi, TrainProgress, TrainRequest, TrainResult, ValidateResult } from './api.js';
export { createTrainer } from './trainer.js';
export { quietTfjsInNode } from './tf-env.js';
export { checkWorkerDataset } from './worker-ingress.js';
export type { Trainer, TrainerInitOptions, TrainerOptions } from './trainer-options.js';
export { createWorkerTrainer, type WorkerTrainerHandle } from './worker-client.js';
export { createCallGuard, fromWireError, toWireError, type CallGuard, type WireError } from './guard.js';
export { BACKEND_NAMES, activateBackend, probeActiveBackend, selectBackend, type BackendEnv, type ProbeOptions, type ProbeResult } from './backends.js';
export { trainStep, trainLoop, defaultLoss, evaluate, createOptimizer, yieldToEventLoop, type Corrections, type RoundContext, type LoopHooks } from './train-loop.js';
export { loadComputePackage, importModuleFromCode, type LoadedPackage, type ModuleImporter } from '../package/load.js';
export type { ComputePackageModule, LossFn, Model, PackageData, PackageMeta, Tf, TrainHooks, TrainLoopOptions, TrainOutcome } from '../package/types.js';
