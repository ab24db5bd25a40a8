/**
 * FedAdagrad, FedAdam and FedYogi: Reddi et al. 2021, "Adaptive Federated Optimization" (ICLR 2021),
 * Algorithm 2. Clients run plain local SGD; the server treats the example-weighted mean delta as a
 * pseudo-gradient (with the sign of a descent direction: Δ_t = mean(x_i − x_t)) and applies an adaptive step:
 *
 *   m_t = β1 m_{t−1} + (1 − β1) Δ_t
 *   v_t = v_{t−1} + Δ_t²                                        (FedAdagrad)
 *   v_t = v_{t−1} − (1 − β2) Δ_t² sign(v_{t−1} − Δ_t²)          (FedYogi)
 *   v_t = β2 v_{t−1} + (1 − β2) Δ_t²                            (FedAdam)
 *   x_{t+1} = x_t + η m_t / (√v_t + τ)
 *
 * with m_{−1} = 0 and v_{−1} = τ² (the paper requires v_{−1} ≥ τ²), and no bias correction (as in the
 * paper's Algorithm 2). Defaults follow the paper's experiments: β1 = 0.9, β2 = 0.99, τ = 1e−3; the server
 * learning rate η was tuned per task on a log grid (best values between 10^−2.5 and 10^0), 1e−2 here.
 *
 * The moments live in `state` (two model-size arrays) and are persisted with the model trail, so a
 * controller restart resumes the optimizer. Partials are the FedAvg weighted sum, so any number of combiners
 * give the same Δ_t (FEDn supports a single combiner for FedOpt; the associative partial removes that limit).
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { stateTensor } from '../common.js';
import type { Strategy } from '../types.js';
import { meanDelta, sumAggregation } from '../weighted-sum.js';

export const FedOptOptionsSchema = z.strictObject({
  /** Server learning rate η. */
  eta: z.number().positive().finite().default(1e-2),
  /** First-moment decay β1. */
  beta1: z.number().min(0).lt(1).default(0.9),
  /** Second-moment decay β2 (FedAdam, FedYogi; unused by FedAdagrad). */
  beta2: z.number().min(0).lt(1).default(0.99),
  /** Adaptivity τ: the degree of adaptivity (smaller = more adaptive); also v_{−1} = τ². */
  tau: z.number().positive().finite().default(1e-3),
});
export type FedOptOptions = z.infer<typeof FedOptOptionsSchema>;

export interface FedOptState {
  /** First moment m_t. */
  m: Float32Array;
  /** Second moment v_t. */
  v: Float32Array;
  /** Server steps taken. */
  step: number;
}

export type FedOptVariant = 'adagrad' | 'adam' | 'yogi';

const StateJson = z.object({ v: z.literal(1), step: z.number().int().nonnegative() });

/**
 * One FedOpt server update on flat arrays, exported for tests and for custom strategies.
 * Mutates `m` and `v`; returns the new model.
 * @example
 * ```ts
 * const next = fedOptStep('adam', opts, global, delta, m, v);
 * ```
 */
export function fedOptStep(
  variant: FedOptVariant,
  o: FedOptOptions,
  global: Float32Array,
  delta: Float32Array,
  m: Float32Array,
  v: Float32Array,
): Float32Array {
  const n = global.length;
  if (delta.length !== n || m.length !== n || v.length !== n) {
    throw fedError('SHAPE_MISMATCH', `FedOpt state has ${m.length}/${v.length} floats, delta ${delta.length}, model ${n}`);
  }
  const { eta, beta1, beta2, tau } = o;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  const out = new Float32Array(n);
  // One loop per variant (no per-element branch on the variant), so each compiles to a tight loop.
  // v stays > 0: Adagrad and Adam only add non-negative terms to v_{−1} = τ² > 0; Yogi subtracts
  // (1 − β2)Δ² only when v > Δ², leaving v − (1 − β2)Δ² > 0. Math.max guards float rounding.
  if (variant === 'adagrad') {
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      const mi = beta1 * m[i]! + c1 * d;
      const vi = v[i]! + d * d;
      m[i] = mi;
      v[i] = vi;
      out[i] = global[i]! + (eta * mi) / (Math.sqrt(Math.max(vi, 0)) + tau);
    }
  } else if (variant === 'adam') {
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      const mi = beta1 * m[i]! + c1 * d;
      const vi = beta2 * v[i]! + c2 * d * d;
      m[i] = mi;
      v[i] = vi;
      out[i] = global[i]! + (eta * mi) / (Math.sqrt(Math.max(vi, 0)) + tau);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const d = delta[i]!;
      const d2 = d * d;
      const mi = beta1 * m[i]! + c1 * d;
      const v0 = v[i]!;
      // v − (1 − β2) Δ² sign(v − Δ²), with sign(0) = 0.
      const vi = v0 > d2 ? v0 - c2 * d2 : v0 < d2 ? v0 + c2 * d2 : v0;
      m[i] = mi;
      v[i] = vi;
      out[i] = global[i]! + (eta * mi) / (Math.sqrt(Math.max(vi, 0)) + tau);
    }
  }
  return out;
}

/**
 * Builds one of the three FedOpt strategies.
 * @example
 * ```ts
 * const fedyogi = createFedOpt('yogi');
 * ```
 */
export function createFedOpt(variant: FedOptVariant): Strategy<FedOptOptions, FedOptState> {
  const name = `fed${variant}` as const;
  const title = { adagrad: 'FedAdagrad', adam: 'FedAdam', yogi: 'FedYogi' }[variant];
  return {
    name,
    description: `${title}: adaptive server optimizer on the mean client delta (Reddi et al. 2021)`,
    optionsSchema: FedOptOptionsSchema,
    mode: 'sync',
    initState(o, global) {
      const v = new Float32Array(global.length).fill(o.tau * o.tau);
      return { m: new Float32Array(global.length), v, step: 0 };
    },
    configureFit: () => ({}),
    ...sumAggregation(),
    serverStep(o, state, global, merged, ctx) {
      const delta = meanDelta(merged, ctx);
      if (!delta) return null;
      const m = new Float32Array(state.m);
      const v = new Float32Array(state.v);
      const model = fedOptStep(variant, o, global, delta, m, v);
      return { model, state: { m, v, step: state.step + 1 }, metrics: { updates: merged.count, weight: merged.weight } };
    },
    encodeState: (s) => ({ json: { v: 1, step: s.step }, tensors: { m: s.m, v: s.v } }),
    decodeState(json, tensors) {
      const parsed = StateJson.safeParse(json);
      if (!parsed.success) throw fedError('BAD_CONFIG', `${name} state is invalid: ${z.prettifyError(parsed.error)}`);
      const m = stateTensor(tensors, 'm');
      const v = stateTensor(tensors, 'v', m.length);
      return { m, v, step: parsed.data.step };
    },
  };
}

/** FedAdam (registered as `fedadam`). */
export const fedadam = createFedOpt('adam');
/** FedYogi (registered as `fedyogi`). */
export const fedyogi = createFedOpt('yogi');
/** FedAdagrad (registered as `fedadagrad`). */
export const fedadagrad = createFedOpt('adagrad');
