/**
 * The Node trainer: the same {@link createTrainer} implementation, run in the calling thread (no worker).
 * Backends: `@tensorflow/tfjs-backend-wasm` where the model's kernels allow it, else the tfjs CPU backend
 * (`auto` probes both with the package's model). `@tensorflow/tfjs-node` is not used: its install downloads a
 * native binary.
 */
import * as tf from '@tensorflow/tfjs';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createTrainer } from './trainer.js';
import type { Trainer } from './trainer-options.js';
import type { BackendEnv, ProbeOptions } from './backends.js';
import type { TrainerApi } from './api.js';
import { createCallGuard } from './guard.js';
import { quietTfjsInNode } from './tf-env.js';

quietTfjsInNode(tf);

/** A trainer plus the means to end it; the browser's {@link createWorkerTrainer} returns the same shape. */
export interface InProcessTrainerHandle {
  api: TrainerApi & Pick<Trainer, 'init'>;
  /** Disposes the model and tensors (terminates the worker in browsers). Pending calls reject with WORKER_DIED. */
  terminate(): Promise<void>;
}

/** Node backends: wasm (registered on first use) and cpu. */
export const nodeBackends: BackendEnv = {
  candidates: ['wasm', 'cpu'],
  register: {
    wasm: async () => {
      await import('@tensorflow/tfjs-backend-wasm');
    },
  },
};

/**
 * Creates the in-process trainer for Node (FedClient's Node entry uses it). All in-process trainers of one
 * process share tfjs' engine and active backend.
 *
 * @example
 * ```ts
 * const { api, terminate } = createInProcessTrainer();
 * await api.init({ backend: 'auto' });
 * const report = await api.loadPackage(code, manifest); // { chosen: 'wasm', candidates: { wasm: '3012 ex/s', cpu: '610 ex/s' } }
 * await terminate();
 * ```
 */
export function createInProcessTrainer(opts: { probe?: ProbeOptions; progressEveryMs?: number } = {}): InProcessTrainerHandle {
  const trainer = createTrainer(tf, { compressor: nodeZlibCompressor, backends: nodeBackends, ...opts });
  // Same semantics as the worker: after terminate(), pending and later calls reject with WORKER_DIED.
  const guard = createCallGuard();
  const api: InProcessTrainerHandle['api'] = {
    init: (o) => guard.run(() => trainer.init(o)),
    loadPackage: (code, manifest) => guard.run(() => trainer.loadPackage(code, manifest)),
    setData: (d) => guard.run(() => trainer.setData(d)),
    train: (req, onProgress) => guard.run(() => trainer.train(req, onProgress)),
    validate: (model) => guard.run(() => trainer.validate(model)),
    predict: (model, x, xShape) => guard.run(() => trainer.predict(model, x, xShape)),
    abort: (reason) => guard.run(() => trainer.abort(reason)),
    memory: () => guard.run(() => trainer.memory()),
    dispose: () => guard.run(() => trainer.dispose()),
  };
  return {
    api,
    async terminate() {
      if (guard.dead) return;
      guard.kill('trainer terminated');
      await trainer.dispose().catch(() => undefined);
    },
  };
}
