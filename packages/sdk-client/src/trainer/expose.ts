/**
 * The trainer as a worker exposes it over comlink (a browser Web Worker, or a Node `worker_thread`): every error
 * crosses as a wire error (code and message), results' buffers are transferred, and progress is fire-and-forget.
 */
import * as Comlink from 'comlink';
import { toWireError } from './guard.js';
import type { TrainProgress, TrainRequest } from './api.js';
import type { Trainer } from './trainer-options.js';

/**
 * The object a worker hands to `Comlink.expose`.
 * @example
 * ```ts
 * Comlink.expose(exposeTrainer(createTrainer(tf, opts), () => tf.getBackend()));
 * ```
 */
export function exposeTrainer(trainer: Trainer, activeBackend: () => string) {
  const buffers = (...xs: (ArrayBuffer | undefined)[]): Transferable[] => xs.filter((x): x is ArrayBuffer => x instanceof ArrayBuffer);

  async function guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toWireError(e);
    }
  }

  const exposed = {
    init: (o: Parameters<typeof trainer.init>[0]) => guarded(() => trainer.init(o)),
    loadPackage: (code: ArrayBuffer, manifest: Parameters<typeof trainer.loadPackage>[1]) => guarded(() => trainer.loadPackage(code, manifest)),
    setData: (d: Parameters<typeof trainer.setData>[0]) => guarded(() => trainer.setData(d)),
    train: (req: TrainRequest, onProgress?: ((p: TrainProgress) => unknown) & Partial<Comlink.ProxyMarked>) =>
      guarded(async () => {
        // Progress is fire-and-forget: a slow or gone page must never stall or fail training.
        const report = onProgress
          ? (p: TrainProgress) => {
              void Promise.resolve(onProgress(p)).catch(() => undefined);
            }
          : undefined;
        try {
          const r = await trainer.train(req, report);
          return Comlink.transfer(r, buffers(r.update, r.residual, r.controlVariate));
        } finally {
          (onProgress as unknown as { [Comlink.releaseProxy]?: () => void } | undefined)?.[Comlink.releaseProxy]?.();
        }
      }),
    validate: (model: ArrayBuffer) => guarded(() => trainer.validate(model)),
    predict: (model: ArrayBuffer, x: Float32Array, xShape: number[]) =>
      guarded(async () => {
        const p = await trainer.predict(model, x, xShape);
        return Comlink.transfer(p, buffers(p.buffer as ArrayBuffer));
      }),
    abort: (reason?: string) => guarded(() => trainer.abort(reason)),
    memory: () => guarded(() => trainer.memory()),
    dispose: () => guarded(() => trainer.dispose()),
    /** The active tfjs backend (for tests and the benchmark). */
    backend: async () => activeBackend(),
  };

  return exposed;
}
