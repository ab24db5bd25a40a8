/**
 * Central differential privacy: DP-FedAvg (McMahan et al. 2018, "Learning Differentially Private Recurrent
 * Language Models", ICLR 2018, Algorithm 1, with uniform client weights) in the Gaussian-mechanism form of
 * Andrew et al. 2021 ("Differentially Private Learning with Adaptive Clipping", NeurIPS 2021, fixed clip):
 *
 *   Δ̃_i = Δ_i · min(1, S / ‖Δ_i‖)                         per-update L2 clipping to S (combiner side)
 *   x_{t+1} = x_t + η · (Σ_i Δ̃_i + N(0, (z S)² I)) / D     noise once, on the aggregate (reducer side)
 *
 * with noise multiplier z and denominator D = `expectedClients` (McMahan et al.'s fixed-denominator
 * estimator; default: the number of updates in the round). Each client moves the noiseless sum by at most
 * S, so one round is the Gaussian mechanism with sensitivity S; with clients sampled independently with
 * probability q (`samplingRate`, 1 when every client takes part) the rounds compose as the Sampled
 * Gaussian Mechanism, and `./rdp.ts` reports ε for the configured δ (user-level DP) after every step.
 *
 * Caveats the operator must know:
 *  - The noise comes from the platform CSPRNG (`./secure-random.ts`), never from the session seed, which is
 *    readable; a DP round cannot be replayed bit for bit.
 *  - The guarantee covers the released global models; it assumes the server (the noise adder) is trusted.
 *  - ε accounting assumes Poisson sampling with rate q: the strategy declares `privacy` and the controller
 *    then samples each eligible client independently with probability q from the CSPRNG (round/membership.ts),
 *    ignoring `clientsPerRound`. q is relative to the clients eligible at the round's start.
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { checkCounts, emptyPartial, requireTensor } from '../common.js';
import { flattenLayout } from '../fold-tools.js';
import { clipInPlace } from '../normclip/index.js';
import type { Strategy } from '../types.js';
import { mergeSums } from '../weighted-sum.js';
import { computeRdp, DEFAULT_RDP_ORDERS, epsilonFromRdp } from './rdp.js';
import { addSecureGaussian } from './secure-random.js';

export const DpOptionsSchema = z.strictObject({
  /** S: L2 bound of every client delta. */
  clipNorm: z.number().positive().finite().default(1),
  /** z: noise std = z · S on the sum. */
  noiseMultiplier: z.number().min(0).finite().default(1),
  /** q: probability that a given client takes part in a round (1 = every client, no amplification). */
  samplingRate: z.number().gt(0).lte(1).default(1),
  /** δ for the reported ε. */
  delta: z.number().gt(0).lt(1).default(1e-5),
  /** η: server learning rate. */
  serverLearningRate: z.number().positive().finite().default(1),
  /** D: fixed denominator (expected clients per round); default the round's update count. */
  expectedClients: z.number().positive().finite().optional(),
});
export type DpOptions = z.infer<typeof DpOptionsSchema>;

export interface DpState {
  /** Noisy releases so far. */
  steps: number;
  /** Accumulated RDP at {@link DEFAULT_RDP_ORDERS} (composition adds; options may change between rounds). */
  rdp: number[];
}

const StateJson = z.object({
  v: z.literal(1),
  steps: z.number().int().nonnegative(),
  rdp: z.array(z.number().nonnegative().nullable()).length(DEFAULT_RDP_ORDERS.length),
});

/**
 * The central-DP strategy (registered as `dp`).
 * @example
 * ```ts
 * const { metrics } = dp.serverStep(options, state, global, merged, ctx)!; // metrics.epsilon for options.delta
 * ```
 */
export const dp: Strategy<DpOptions, DpState> = {
  name: 'dp',
  description: 'Central DP: per-update L2 clipping + Gaussian noise on the sum, RDP accountant reports epsilon (McMahan et al. 2018)',
  optionsSchema: DpOptionsSchema,
  mode: 'sync',
  initState: () => ({ steps: 0, rdp: DEFAULT_RDP_ORDERS.map(() => 0) }),
  configureFit: () => ({}),
  privacy: (o) => ({ samplingRate: o.samplingRate }),
  createPartial: (_o, ctx) => emptyPartial(ctx, ['sum'], { clipped: 0 }),
  async foldUpdate(o, partial, update, tools, ctx) {
    const sum = requireTensor(partial, 'sum', ctx);
    const delta = flattenLayout(await tools.decode(update.frame), ctx.layout, ctx.paramCount);
    const norm = clipInPlace(delta, o.clipNorm);
    for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + delta[i]!;
    partial.count += 1;
    // Uniform weights: with numExamples weights one client could exceed the sensitivity S.
    partial.weight += 1;
    if (norm > o.clipNorm) partial.scalars.clipped = (partial.scalars.clipped ?? 0) + 1;
  },
  mergePartials: (_o, a, b, ctx) => mergeSums(a, b, ctx),
  serverStep(o, state, global, merged, ctx) {
    checkCounts(merged);
    const sum = requireTensor(merged, 'sum', ctx);
    if (merged.count === 0) return null;
    if (state.rdp.length !== DEFAULT_RDP_ORDERS.length) throw fedError('BAD_CONFIG', 'dp state holds RDP for other orders');
    const noisy = new Float32Array(sum);
    const noiseStd = o.noiseMultiplier * o.clipNorm;
    if (noiseStd > 0) (ctx.testNoise ?? addSecureGaussian)(noisy, noiseStd);
    const denom = o.expectedClients ?? merged.count;
    const scale = o.serverLearningRate / denom;
    const model = new Float32Array(global.length);
    for (let i = 0; i < model.length; i++) model[i] = global[i]! + scale * noisy[i]!;
    const step = computeRdp(o.samplingRate, o.noiseMultiplier, 1);
    const rdp = state.rdp.map((r, i) => r + step[i]!);
    const { epsilon } = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, o.delta);
    const metrics: Record<string, number> = { updates: merged.count, clipped: merged.scalars.clipped ?? 0, noiseStd, delta: o.delta };
    // ε is Infinity without noise; metrics must stay finite numbers (JSON), so it is left out then.
    if (Number.isFinite(epsilon)) metrics.epsilon = epsilon;
    return { model, state: { steps: state.steps + 1, rdp }, metrics };
  },
  encodeState: (s) => ({ json: { v: 1, steps: s.steps, rdp: s.rdp.map((r) => (Number.isFinite(r) ? r : null)) }, tensors: {} }),
  decodeState(json) {
    const parsed = StateJson.safeParse(json);
    if (!parsed.success) throw fedError('BAD_CONFIG', `dp state is invalid: ${z.prettifyError(parsed.error)}`);
    return { steps: parsed.data.steps, rdp: parsed.data.rdp.map((r) => (r === null ? Infinity : r)) };
  },
};
