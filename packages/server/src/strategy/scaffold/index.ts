/**
 * SCAFFOLD (Karimireddy et al. 2020, "SCAFFOLD: Stochastic Controlled Averaging for Federated Learning",
 * ICML 2020, Algorithm 1 with option II for the client control variate). Control variates correct the
 * client drift of local SGD on non-IID data:
 *
 *   client i, from global x and server control c, with its own control c_i (0 at first):
 *     y ← x;  K times:  y ← y − η_l (g_i(y) − c_i + c)
 *     c_i⁺ = c_i − c + (x − y) / (K η_l)                                  (option II)
 *     sends Δy_i = y − x  and  Δc_i = c_i⁺ − c_i;  keeps c_i ← c_i⁺
 *   server:
 *     x ← x + η_g Σ n_i Δy_i / Σ n_i        (the paper averages uniformly; weighting by examples keeps
 *                                            SCAFFOLD equal to FedAvg when all control variates are 0)
 *     c ← c + (1/N) Σ_{i∈S} Δc_i           (N = total number of clients, `numClients`; default |S|)
 *
 * Client contract (what the SDK implements, `strategy/testing.ts#scaffoldLocalTrain` is the reference):
 *  - `settings.strategy.scaffold = { version: 1, controlPrefix: 'c/' }` (from `configureFit`) announces it.
 *  - The server control variate c travels as tensors `c/<layout name>` (from `clientTensors`); the controller
 *    serves them as an f32 frame and puts its BlobRef in `settings.strategy.tensors`. Round 1: all zeros.
 *  - The client keeps c_i locally (IndexedDB / disk) across rounds, keyed by session; absent = zeros.
 *  - The update frame holds the usual model deltas `w0..wN` plus `c/w0..c/wN` = Δc_i, same shapes.
 *    An update without them is refused with SHAPE_MISMATCH.
 */
import { fedError, unflattenTensors } from '@fedweb/codec';
import { z } from 'zod';
import { addArrays, checkCounts, emptyPartial, exampleWeight, requireTensor, stateTensor } from '../common.js';
import type { Strategy } from '../types.js';

export const SCAFFOLD_PREFIX = 'c/';

export const ScaffoldOptionsSchema = z.strictObject({
  /** Global (server) learning rate η_g (the paper uses 1). */
  serverLearningRate: z.number().positive().finite().default(1),
  /** N: the total number of clients in the federation; default = the number of updates in the round. */
  numClients: z.number().int().positive().optional(),
});
export type ScaffoldOptions = z.infer<typeof ScaffoldOptionsSchema>;
export interface ScaffoldState {
  /** The server control variate c (model-size). */
  c: Float32Array;
}

const StateJson = z.object({ v: z.literal(1) });

/**
 * The SCAFFOLD strategy object (registered as `scaffold`).
 * @example
 * ```ts
 * const extra = scaffold.clientTensors!(options, state, ctx); // [{ name: 'c/w0', ... }, ...]
 * ```
 */
export const scaffold: Strategy<ScaffoldOptions, ScaffoldState> = {
  name: 'scaffold',
  description: 'SCAFFOLD: server and client control variates correct client drift (Karimireddy et al. 2020)',
  optionsSchema: ScaffoldOptionsSchema,
  mode: 'sync',
  initState: (_o, global) => ({ c: new Float32Array(global.length) }),
  configureFit: () => ({ scaffold: { version: 1, controlPrefix: SCAFFOLD_PREFIX } }),
  clientTensors(_o, state, ctx) {
    if (state.c.length !== ctx.paramCount) throw fedError('SHAPE_MISMATCH', `SCAFFOLD control variate has ${state.c.length} floats, model ${ctx.paramCount}`);
    return unflattenTensors(state.c, ctx.layout).map((t) => ({ ...t, name: SCAFFOLD_PREFIX + t.name }));
  },
  createPartial: (_o, ctx) => emptyPartial(ctx, ['sum', 'csum']),
  async foldUpdate(_o, partial, update, tools, ctx) {
    const sum = requireTensor(partial, 'sum', ctx);
    const csum = requireTensor(partial, 'csum', ctx);
    const n = exampleWeight(update);
    const tensors = await tools.decode(update.frame);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    // Check everything before mutating the partial: a bad update must not leave half of it folded.
    const pieces = ctx.layout.map((spec) => {
      const dy = byName.get(spec.name);
      const dc = byName.get(SCAFFOLD_PREFIX + spec.name);
      if (!dy) throw fedError('SHAPE_MISMATCH', `SCAFFOLD update lacks tensor '${spec.name}'`);
      if (!dc) throw fedError('SHAPE_MISMATCH', `SCAFFOLD update lacks the control-variate delta '${SCAFFOLD_PREFIX}${spec.name}'`);
      if (dy.data.length !== dc.data.length) throw fedError('SHAPE_MISMATCH', `'${spec.name}' and its control delta differ in size`);
      return { dy: dy.data, dc: dc.data };
    });
    const total = pieces.reduce((a, p) => a + p.dy.length, 0);
    if (total !== ctx.paramCount) throw fedError('SHAPE_MISMATCH', `SCAFFOLD update has ${total} parameters, the model has ${ctx.paramCount}`);
    let off = 0;
    for (const { dy, dc } of pieces) {
      for (let j = 0; j < dy.length; j++) {
        sum[off + j] = sum[off + j]! + n * dy[j]!;
        csum[off + j] = csum[off + j]! + dc[j]!;
      }
      off += dy.length;
    }
    partial.count += 1;
    partial.weight += n;
  },
  mergePartials(_o, a, b, ctx) {
    checkCounts(a);
    checkCounts(b);
    return {
      count: a.count + b.count,
      weight: a.weight + b.weight,
      tensors: {
        sum: addArrays(requireTensor(a, 'sum', ctx), requireTensor(b, 'sum', ctx)),
        csum: addArrays(requireTensor(a, 'csum', ctx), requireTensor(b, 'csum', ctx)),
      },
      scalars: {},
    };
  },
  serverStep(o, state, global, merged, ctx) {
    checkCounts(merged);
    const sum = requireTensor(merged, 'sum', ctx);
    const csum = requireTensor(merged, 'csum', ctx);
    if (merged.weight <= 0 || merged.count === 0) return null;
    if (state.c.length !== global.length) throw fedError('SHAPE_MISMATCH', `SCAFFOLD control variate has ${state.c.length} floats, model ${global.length}`);
    const scaleX = o.serverLearningRate / merged.weight;
    // N must be at least the number of participants (|S| ≤ N); a smaller configured N would over-step c.
    const scaleC = 1 / Math.max(o.numClients ?? merged.count, merged.count);
    const model = new Float32Array(global.length);
    const c = new Float32Array(global.length);
    for (let i = 0; i < model.length; i++) {
      model[i] = global[i]! + scaleX * sum[i]!;
      c[i] = state.c[i]! + scaleC * csum[i]!;
    }
    return { model, state: { c }, metrics: { updates: merged.count, weight: merged.weight } };
  },
  encodeState: (s) => ({ json: { v: 1 }, tensors: { c: s.c } }),
  decodeState(json, tensors) {
    const parsed = StateJson.safeParse(json);
    if (!parsed.success) throw fedError('BAD_CONFIG', `scaffold state is invalid: ${z.prettifyError(parsed.error)}`);
    return { c: stateTensor(tensors, 'c') };
  },
};
