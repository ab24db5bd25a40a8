/**
 * FedSGD's client side (`settings.strategy.fedsgd`, McMahan et al. 2017; FEDn's "AccumulateGradients"): instead of
 * training, the client takes the gradient of its loss at the GLOBAL model over `batches` shuffled mini-batches of
 * the session's batch size (0 = all local examples as one batch), sums or averages the batch gradients, and sends
 * the result as its update. No optimizer step is taken; the server's optimizer applies the mean gradient. The
 * server-side reference is `packages/server/src/strategy/local-train.ts` (`localGradient`).
 */
import type * as TfModule from '@tensorflow/tfjs';
import { createRng, fedError, shuffleInPlace, type FedSgdSettings } from '@fedweb/codec';
import type { PackageData } from '../package/types.js';
import { makeBatch, yieldToEventLoop, type RoundContext } from './train-loop.js';

export interface GradientOutcome {
  /** One gradient per trainable variable, in trainable-variable order. */
  grads: Float32Array[];
  /** Examples the gradient was taken over (each counted once). */
  numExamples: number;
  /** Mean data loss over the batches. */
  loss: number;
}

/**
 * Accumulates the gradient of `ctx.loss` at the model's current weights.
 * @example
 * ```ts
 * const { grads, numExamples } = await accumulateGradients(ctx, data, { version: 1, batches: 2, reduce: 'mean' }, 32, { signal, seed: 1 });
 * ```
 */
export async function accumulateGradients(
  ctx: RoundContext,
  data: PackageData,
  o: FedSgdSettings,
  batchSize: number,
  hooks: { signal: AbortSignal; seed?: number },
): Promise<GradientOutcome> {
  const { tf, model, vars, loss } = ctx;
  const n = data.numExamples;
  if (n <= 0) throw fedError('BAD_CONFIG', 'no local examples: call setData() with at least one example before training');
  const size = o.batches === 0 ? n : Math.min(batchSize, n);
  const count = o.batches === 0 ? 1 : o.batches;
  const perm = shuffleInPlace(Int32Array.from({ length: n }, (_, i) => i), createRng(hooks.seed ?? Math.floor(Math.random() * 2 ** 31)));
  // Batches wrap around the shuffled order when the session asks for more examples than the client holds.
  const order = Int32Array.from({ length: count * size }, (_, i) => perm[i % n]!);
  const held: { acc: TfModule.Tensor[] | null } = { acc: null };
  let lossSum = 0;
  try {
    for (let b = 0; b < count; b++) {
      if (hooks.signal.aborted) throw fedError('ABORTED', `training aborted: ${String(hooks.signal.reason ?? 'abort()')}`);
      const [value, ...grads] = tf.tidy(() => {
        const { x, y } = makeBatch(tf, data, order, b * size, (b + 1) * size);
        const r = tf.variableGrads(() => loss(tf, y, model.apply(x, { training: true }) as TfModule.Tensor), vars);
        return [r.value, ...vars.map((v) => r.grads[v.name] ?? tf.zerosLike(v))];
      });
      const prev = held.acc;
      held.acc = prev ? prev.map((a, i) => tf.add(a, grads[i]!)) : grads;
      if (prev) tf.dispose([...prev, ...grads]);
      lossSum += (await value!.data())[0]!;
      value!.dispose();
      await yieldToEventLoop();
    }
    const scale = o.reduce === 'mean' ? 1 / count : 1;
    const grads = await Promise.all(
      (held.acc ?? []).map(async (g) => {
        const out = (await g.data()) as Float32Array;
        if (scale !== 1) for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale;
        return Float32Array.from(out);
      }),
    );
    const meanLoss = lossSum / count;
    if (!Number.isFinite(meanLoss)) throw fedError('NON_FINITE', `the local loss is ${meanLoss} at the global model`);
    return { grads, numExamples: Math.min(n, count * size), loss: meanLoss };
  } finally {
    if (held.acc) tf.dispose(held.acc);
  }
}
