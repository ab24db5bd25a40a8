/**
 * The Node trainer in a `worker_thread` with resource limits: the Node counterpart of the browser's Web Worker
 * trainer (the same comlink protocol, the same {@link createWorkerTrainer} guard), so package code never runs on
 * the client's event loop. `terminate()` ends the thread whatever the package is doing; a thread that exits or
 * runs out of its heap limit resolves `died`, and FedClient starts a fresh one for the next task.
 */
import { Worker as NodeWorker, type ResourceLimits } from 'node:worker_threads';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createWorkerTrainer, type WorkerTrainerHandle } from './worker-client.js';

/**
 * The thread's default resource limits: a 1 GiB old generation (tensors' buffers live outside the V8 heap), a
 * 64 MiB young generation, a 4 MiB stack.
 * @example
 * ```ts
 * createThreadTrainer({ resourceLimits: { ...DEFAULT_TRAINER_LIMITS, maxOldGenerationSizeMb: 2048 } });
 * ```
 */
export const DEFAULT_TRAINER_LIMITS: Readonly<ResourceLimits> = { maxOldGenerationSizeMb: 1024, maxYoungGenerationSizeMb: 64, stackSizeMb: 4 };

/** A worker_thread dressed as the Web Worker {@link createWorkerTrainer} drives (postMessage, events, terminate). */
function asWebWorker(thread: NodeWorker): Worker {
  const endpoint = nodeEndpoint(thread);
  const died = new Set<(ev: ErrorEvent) => void>();
  const fail = (message: string) => {
    for (const l of died) l({ message } as ErrorEvent);
  };
  thread.on('error', (e: Error) => fail(`trainer thread failed: ${e.message}`));
  thread.on('exit', (code) => fail(`trainer thread exited (code ${code})`));
  thread.on('messageerror', () => fail('trainer thread sent a message that could not be deserialised'));
  return {
    postMessage: (m: unknown, transfer?: Transferable[]) => endpoint.postMessage(m, transfer),
    addEventListener: (type: string, l: (ev: never) => void) => {
      if (type === 'message') endpoint.addEventListener('message', l as EventListener);
      else if (type === 'error') died.add(l as (ev: ErrorEvent) => void);
    },
    removeEventListener: (type: string, l: (ev: never) => void) => {
      if (type === 'message') endpoint.removeEventListener('message', l as EventListener);
    },
    terminate: () => void thread.terminate(),
  } as unknown as Worker;
}

/**
 * Starts the trainer in a worker_thread (Node's default trainer).
 * @example
 * ```ts
 * const { api, terminate } = createThreadTrainer();
 * await api.init({ backend: 'auto' });
 * await terminate(); // ends the thread, even in the middle of a package's endless loop
 * ```
 */
export function createThreadTrainer(opts: { resourceLimits?: ResourceLimits } = {}): WorkerTrainerHandle {
  const thread = new NodeWorker(new URL('./node-worker-entry.mjs', import.meta.url), { resourceLimits: { ...DEFAULT_TRAINER_LIMITS, ...opts.resourceLimits } });
  // The thread must not keep a stopping process alive.
  thread.unref();
  return createWorkerTrainer({ worker: asWebWorker(thread) });
}
