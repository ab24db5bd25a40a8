/**
 * "Try the global model": a second, small trainer worker (tfjs CPU backend: one digit is a trivial forward
 * pass, and it stays off the GPU the training worker uses) that loads the active compute package and the
 * session's latest global model, and predicts through the trainer's `predict`.
 * Created on the first stroke only, so tabs nobody draws in pay nothing.
 */
import { createWorkerTrainer, type WorkerTrainerHandle } from '@fedweb/sdk-client';
import { fetchBytes, pageApi } from './api.js';

export interface Predictor {
  /** Class probabilities of the model `modelId` (or the package's seed model) for one 28x28x1 input. */
  predict(x: Float32Array, modelId: string | undefined): Promise<{ probs: Float32Array; modelId: string }>;
}

/**
 * Creates the lazy predictor.
 * @example
 * ```ts
 * const p = createPredictor();
 * const { probs } = await p.predict(input, view.currentModelId);
 * ```
 */
export function createPredictor(): Predictor {
  let handle: WorkerTrainerHandle | undefined;
  let loaded: Promise<{ seedModelId: string }> | undefined;
  let model: { id: string; bytes: ArrayBuffer } | undefined;

  const setup = async (): Promise<{ seedModelId: string }> => {
    const active = await pageApi.activePackage();
    const code = (await fetchBytes(active.bundle.url, 30_000)).slice().buffer;
    handle = createWorkerTrainer();
    await handle.api.init({ backend: 'cpu' });
    await handle.api.loadPackage(code, active.manifest);
    return { seedModelId: active.seedModel?.id ?? '' };
  };

  return {
    async predict(x, modelId) {
      loaded ??= setup().catch((e: unknown) => {
        loaded = undefined;
        throw e;
      });
      const { seedModelId } = await loaded;
      const id = modelId ?? seedModelId;
      if (!id) throw new Error('no global model yet');
      if (model?.id !== id) model = { id, bytes: (await pageApi.downloadModel(id, { timeoutMs: 30_000 })).slice().buffer };
      // predict() transfers its buffers: hand it copies so the cached model stays usable.
      const probs = await handle!.api.predict(model.bytes.slice(0), x.slice(), [28, 28, 1]);
      return { probs, modelId: id };
    },
  };
}
