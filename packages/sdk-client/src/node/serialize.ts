/**
 * Several FedClients in one Node process (simulations, a gateway serving several sensors) share one tfjs engine
 * and one active backend, so two trainers probing or training at the same time switch the backend under each
 * other. This queue runs their calls one at a time, process-wide. There is one CPU thread for tfjs anyway, so
 * nothing is lost. `abort` and `memory` bypass the queue: an abort must reach the call that is running.
 */
import type { TrainerApi } from '../trainer/api.js';
import type { TrainerHandle } from '../client/types.js';

let tail: Promise<unknown> = Promise.resolve();

function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = tail.then(fn, fn);
  tail = run.catch(() => {});
  return run;
}

/**
 * Wraps a trainer so its calls take turns with every other wrapped trainer of the process.
 * @example
 * ```ts
 * const handle = serializeTrainer(createInProcessTrainer());
 * ```
 */
export function serializeTrainer<H extends TrainerHandle>(handle: H): H {
  const api = handle.api;
  const wrapped: TrainerApi = {
    init: (o) => exclusive(() => api.init(o)),
    loadPackage: (code, manifest) => exclusive(() => api.loadPackage(code, manifest)),
    setData: (d) => exclusive(() => api.setData(d)),
    train: (req, onProgress) => exclusive(() => api.train(req, onProgress)),
    validate: (model) => exclusive(() => api.validate(model)),
    predict: (model, x, xShape) => exclusive(() => api.predict(model, x, xShape)),
    dispose: () => exclusive(() => api.dispose()),
    abort: (reason) => api.abort(reason),
    memory: () => api.memory(),
  };
  return { ...handle, api: wrapped };
}
