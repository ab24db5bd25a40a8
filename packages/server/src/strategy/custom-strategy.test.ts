// The README's "custom strategy" example, kept compiling and passing the contract suite.
import { describe, expect, it } from 'vitest';
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import { runStrategyContract } from './contract.js';
import { getStrategy, parseStrategyOptions, registerStrategy } from './index.js';
import type { Strategy } from './types.js';

const Options = z.strictObject({ scale: z.number().positive().default(0.5) });

/** FedAvg with a damped server step: x + scale · mean Δ. */
export const dampedAvg: Strategy<z.infer<typeof Options>, Record<string, never>> = {
  name: 'damped-avg',
  description: 'FedAvg with a damped server step',
  optionsSchema: Options,
  mode: 'sync',
  initState: () => ({}),
  configureFit: () => ({}),
  createPartial: (_o, ctx) => ({ count: 0, weight: 0, tensors: { sum: new Float32Array(ctx.paramCount) }, scalars: {} }),
  async foldUpdate(_o, p, update, tools) {
    await tools.foldInto(p.tensors.sum!, update.frame, update.numExamples); // validated before it touches sum
    p.count += 1;
    p.weight += update.numExamples;
  },
  mergePartials(_o, a, b, ctx) {
    const x = a.tensors.sum;
    const y = b.tensors.sum; // b may come from another process: check before adding
    if (x?.length !== ctx.paramCount || y?.length !== ctx.paramCount) throw fedError('SHAPE_MISMATCH', 'partial sum has the wrong size');
    return { count: a.count + b.count, weight: a.weight + b.weight, tensors: { sum: x.map((v, i) => v + y[i]!) }, scalars: {} };
  },
  serverStep(o, state, global, merged) {
    if (merged.weight <= 0) return null;
    const k = o.scale / merged.weight;
    return { model: global.map((x, i) => x + k * merged.tensors.sum![i]!), state };
  },
  encodeState: () => ({ json: {}, tensors: {} }),
  decodeState: () => ({}),
};

registerStrategy(dampedAvg, { replace: true });
runStrategyContract(() => dampedAvg, { options: { scale: 0.3 } });

describe('README custom strategy', () => {
  it('is selectable by name with typed options', () => {
    expect(getStrategy('damped-avg')).toBe(dampedAvg);
    expect(parseStrategyOptions('damped-avg', { scale: 0.3 })).toEqual({ scale: 0.3 });
  });
});
