/**
 * The server-side optimizers of FedSGD (which applies the clients' mean gradient) and FedAvgM (which applies the
 * mean client delta as a pseudo-gradient): plain SGD, heavy-ball momentum and Adam on flat Float32Arrays.
 * With `d` the descent direction's opposite (a gradient) and η the round's rate:
 *
 *   sgd:       x ← x − η d
 *   momentum:  m ← β m + d;  x ← x − η m                      (tf.train.momentum / PyTorch SGD momentum)
 *   adam:      m ← β1 m + (1−β1) d;  v ← β2 v + (1−β2) d²;
 *              x ← x − η m̂ / (√v̂ + ε),  m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)   (Kingma & Ba 2015, Algorithm 1)
 *
 * A learning-rate schedule: round r uses η · decay^(r−1).
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { stateTensor } from './common.js';
import type { Strategy } from './types.js';
import { meanDelta, sumAggregation } from './weighted-sum.js';

export const ServerOptimizerSchema = z.strictObject({
  /** The server optimizer. */
  optimizer: z.enum(['sgd', 'momentum', 'adam']).default('sgd').describe('server optimizer: sgd, momentum or adam'),
  /** Server learning rate η. */
  lr: z.number().positive().finite().default(0.1).describe('server learning rate'),
  /** Per-round factor of η (round r uses lr · lrDecay^(r−1)); 1 = constant. */
  lrDecay: z.number().gt(0).lte(1).default(1).describe('per-round factor of the server learning rate (1 = constant)'),
  /** Momentum β (optimizer `momentum`). */
  momentum: z.number().min(0).lt(1).default(0.9).describe('momentum (optimizer momentum)'),
  /** Adam β1, β2, ε. */
  beta1: z.number().min(0).lt(1).default(0.9).describe('Adam first-moment decay'),
  beta2: z.number().min(0).lt(1).default(0.999).describe('Adam second-moment decay'),
  epsilon: z.number().positive().finite().default(1e-8).describe('Adam epsilon'),
});
export type ServerOptimizerOptions = z.infer<typeof ServerOptimizerSchema>;

export interface ServerOptimizerState {
  /** First moment / velocity. */
  m: Float32Array;
  /** Second moment (Adam only; empty otherwise). */
  v: Float32Array;
  /** Steps taken. */
  step: number;
}

const StateJson = z.object({ v: z.literal(1), step: z.number().int().nonnegative() });

/**
 * Fresh optimizer state for a model of `n` parameters.
 * @example
 * ```ts
 * const state = initServerOptimizer(opts, global.length);
 * ```
 */
export function initServerOptimizer(o: ServerOptimizerOptions, n: number): ServerOptimizerState {
  return { m: new Float32Array(o.optimizer === 'sgd' ? 0 : n), v: new Float32Array(o.optimizer === 'adam' ? n : 0), step: 0 };
}

/**
 * One step: returns the new model and the new state (the inputs are not mutated).
 * @example
 * ```ts
 * const { model, state: next } = serverOptimizerStep(opts, state, global, meanGradient);
 * ```
 */
export function serverOptimizerStep(o: ServerOptimizerOptions, s: ServerOptimizerState, global: Float32Array, d: Float32Array): { model: Float32Array; state: ServerOptimizerState; lr: number } {
  const n = global.length;
  if (d.length !== n) throw fedError('SHAPE_MISMATCH', `the aggregate has ${d.length} floats, the model ${n}`);
  const t = s.step + 1;
  const lr = o.lr * o.lrDecay ** s.step;
  const out = new Float32Array(n);
  if (o.optimizer === 'sgd') {
    for (let i = 0; i < n; i++) out[i] = global[i]! - lr * d[i]!;
    return { model: out, state: { m: s.m, v: s.v, step: t }, lr };
  }
  if (s.m.length !== n) throw fedError('SHAPE_MISMATCH', `optimizer state has ${s.m.length} floats, the model ${n}`);
  const m = new Float32Array(n);
  if (o.optimizer === 'momentum') {
    for (let i = 0; i < n; i++) {
      m[i] = o.momentum * s.m[i]! + d[i]!;
      out[i] = global[i]! - lr * m[i]!;
    }
    return { model: out, state: { m, v: s.v, step: t }, lr };
  }
  if (s.v.length !== n) throw fedError('SHAPE_MISMATCH', `optimizer state has ${s.v.length} second-moment floats, the model ${n}`);
  const v = new Float32Array(n);
  const c1 = 1 - o.beta1 ** t;
  const c2 = 1 - o.beta2 ** t;
  for (let i = 0; i < n; i++) {
    const g = d[i]!;
    m[i] = o.beta1 * s.m[i]! + (1 - o.beta1) * g;
    v[i] = o.beta2 * s.v[i]! + (1 - o.beta2) * g * g;
    out[i] = global[i]! - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + o.epsilon);
  }
  return { model: out, state: { m, v, step: t }, lr };
}

/**
 * Persistence of the optimizer state with the model trail (JSON + tensors).
 * @example
 * ```ts
 * const { json, tensors } = encodeServerOptimizer(state); decodeServerOptimizer('fedsgd', json, tensors);
 * ```
 */
export function encodeServerOptimizer(s: ServerOptimizerState): { json: unknown; tensors: Record<string, Float32Array> } {
  return { json: { v: 1, step: s.step }, tensors: { m: s.m, v: s.v } };
}

export function decodeServerOptimizer(name: string, json: unknown, tensors: Record<string, Float32Array>): ServerOptimizerState {
  const parsed = StateJson.safeParse(json);
  if (!parsed.success) throw fedError('BAD_CONFIG', `${name} state is invalid: ${z.prettifyError(parsed.error)}`);
  return { m: stateTensor(tensors, 'm'), v: stateTensor(tensors, 'v'), step: parsed.data.step };
}

/**
 * A synchronous weighted-sum strategy whose reducer feeds the example-weighted mean of the updates to the server
 * optimizer: as a gradient (`fedsgd`, `sign: 1`) or as a delta whose opposite is the pseudo-gradient (`fedavgm`,
 * `sign: -1`). Metrics: updates, weight and the round's rate.
 * @example
 * ```ts
 * const s = optimizerStrategy({ name: 'fedavgm', description: '…', optionsSchema, configureFit: () => ({}), sign: -1 });
 * ```
 */
export function optimizerStrategy<O extends ServerOptimizerOptions>(spec: {
  name: string;
  description: string;
  optionsSchema: z.ZodType<O>;
  configureFit: (o: O) => Record<string, unknown>;
  sign: 1 | -1;
}): Strategy<O, ServerOptimizerState> {
  return {
    name: spec.name,
    description: spec.description,
    optionsSchema: spec.optionsSchema,
    mode: 'sync',
    initState: (o, global) => initServerOptimizer(o, global.length),
    configureFit: (o) => spec.configureFit(o),
    ...sumAggregation(),
    serverStep(o, state, global, merged, ctx) {
      const mean = meanDelta(merged, ctx);
      if (!mean) return null;
      if (spec.sign === -1) for (let i = 0; i < mean.length; i++) mean[i] = -mean[i]!;
      const r = serverOptimizerStep(o, state, global, mean);
      return { model: r.model, state: r.state, metrics: { updates: merged.count, weight: merged.weight, lr: r.lr } };
    },
    encodeState: encodeServerOptimizer,
    decodeState: (json, tensors) => decodeServerOptimizer(spec.name, json, tensors),
  };
}
