/**
 * "Try the global model": a second, small trainer worker (tfjs CPU backend: one digit is a trivial forward
 * pass, and it stays off the GPU the training worker uses) that loads the active compute package and the
 * session's latest global model, and predicts through the trainer's `predict`.
 * Created on the first stroke only, so tabs nobody draws in pay nothing.
 */
import { createWorkerTrainer, type WorkerTrainerHandle } from '@fedweb/sdk-client';
import type { ComputePackageManifest } from '@fedweb/codec';

async function get(url: string, timeoutMs = 30_000): Promise<Response> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`GET ${url} timed out`)), timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    // Read the body before the timer is cleared: the timeout covers the download too.
    return new Response(await res.arrayBuffer(), { headers: res.headers });
  } finally {
    clearTimeout(timer);
  }
}

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
    const active = (await (await get('/api/packages/active')).json()) as {
      package: { manifest: ComputePackageManifest; bundle: { url: string }; seedModel: { id: string } | null };
    };
    const code = await (await get(active.package.bundle.url)).arrayBuffer();
    handle = createWorkerTrainer();
    await handle.api.init({ backend: 'cpu' });
    await handle.api.loadPackage(code, active.package.manifest);
    return { seedModelId: active.package.seedModel?.id ?? '' };
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
      if (model?.id !== id) model = { id, bytes: await (await get(`/api/models/${encodeURIComponent(id)}`)).arrayBuffer() };
      // predict() transfers its buffers: hand it copies so the cached model stays usable.
      const probs = await handle!.api.predict(model.bytes.slice(0), x.slice(), [28, 28, 1]);
      return { probs, modelId: id };
    },
  };
}
