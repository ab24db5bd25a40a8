/**
 * The page side of the trainer worker: a {@link TrainerApi} over comlink where every ArrayBuffer is
 * transferred (never copied) and every pending call rejects with `WORKER_DIED` when the worker dies.
 */
import * as Comlink from 'comlink';
import type { Dataset, TrainerApi, TrainProgress, TrainRequest } from './api.js';
import type { ExposedTrainer } from './worker.js';
import type { Trainer } from './trainer-options.js';
import { createCallGuard } from './guard.js';

/** The worker trainer: its API, the Worker, and a way to end it. */
export interface WorkerTrainerHandle {
  /** The trainer API. Buffers you pass are transferred to the worker (your copies become detached). */
  api: TrainerApi & Pick<Trainer, 'init'> & { /** The active tfjs backend inside the worker. */ backend(): Promise<string> };
  worker: Worker;
  /** Terminates the worker; pending and later calls reject with `WORKER_DIED`. */
  terminate(): Promise<void>;
  /** Resolves with the `WORKER_DIED` error when the worker dies (error event or terminate). */
  died: Promise<Error>;
}

/** Every distinct transferable ArrayBuffer among the given views/buffers (SharedArrayBuffers cannot be transferred). */
function transferables(...xs: (ArrayBufferView | ArrayBuffer | undefined)[]): Transferable[] {
  const set = new Set<ArrayBuffer>();
  for (const x of xs) {
    const b = x instanceof ArrayBuffer ? x : x?.buffer;
    if (b instanceof ArrayBuffer && b.byteLength > 0) set.add(b);
  }
  return [...set];
}

/**
 * Starts the trainer in a module Web Worker (bundled by vite from `worker.ts`).
 *
 * @example
 * ```ts
 * const { api, terminate } = createWorkerTrainer();
 * await api.init({ backend: 'auto' });
 * const report = await api.loadPackage(code, manifest); // e.g. { chosen: 'webgl', candidates: { webgpu: '18 ex/s', ... } }
 * await api.setData({ x, xShape: [28, 28, 1], y, yShape: [] });
 * const result = await api.train({ roundId, model, settings }, (p) => console.log(p.loss));
 * await terminate();
 * ```
 */
export function createWorkerTrainer(opts: { worker?: Worker } = {}): WorkerTrainerHandle {
  const worker = opts.worker ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'fedweb-trainer' });
  const remote = Comlink.wrap<ExposedTrainer>(worker);
  const guard = createCallGuard();
  let resolveDied!: (e: Error) => void;
  const died = new Promise<Error>((r) => (resolveDied = r));
  const kill = (message: string) => {
    if (guard.dead) return;
    guard.kill(message);
    resolveDied(guard.dead!);
    try {
      worker.terminate();
    } catch {
      // Already gone.
    }
    remote[Comlink.releaseProxy]();
  };
  // An uncaught error in the worker (script failed to load, out of memory, a throw outside a call) ends it:
  // its state is unknown, so we never reuse it. Handlers never throw.
  worker.addEventListener('error', (ev: ErrorEvent) => {
    ev.preventDefault?.();
    kill(`trainer worker failed: ${ev.message || 'error event (script failed to load or crashed)'}`);
  });
  worker.addEventListener('messageerror', () => kill('trainer worker sent a message that could not be deserialised'));

  const api: WorkerTrainerHandle['api'] = {
    init: (o) => guard.run(() => remote.init(o)),
    loadPackage: (code, manifest) => guard.run(() => remote.loadPackage(Comlink.transfer(code, transferables(code)), manifest)),
    setData: (d: Dataset) => guard.run(() => remote.setData(Comlink.transfer(d, transferables(d.x, d.y, d.validation?.x, d.validation?.y)))),
    train: (req: TrainRequest, onProgress?: (p: TrainProgress) => void) =>
      guard.run(() =>
        remote.train(
          Comlink.transfer(req, transferables(req.model, req.residual, req.strategyTensors, req.controlVariate)),
          onProgress ? Comlink.proxy(onProgress) : undefined,
        ),
      ),
    validate: (model) => guard.run(() => remote.validate(Comlink.transfer(model, transferables(model)))),
    predict: (model, x, xShape) => guard.run(() => remote.predict(Comlink.transfer(model, transferables(model, x)), x, xShape)),
    abort: (reason) => guard.run(() => remote.abort(reason)),
    memory: () => guard.run(() => remote.memory()),
    dispose: () => guard.run(() => remote.dispose()),
    backend: () => guard.run(() => remote.backend()),
  };
  return {
    api,
    worker,
    died,
    async terminate() {
      kill('trainer worker terminated');
    },
  };
}
