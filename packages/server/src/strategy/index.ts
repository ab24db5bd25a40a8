/**
 * Aggregation strategies: the registry, the built-in strategies, and the host helpers combiners and the
 * reducer use (fold tools, partial encoding). See `README.md` in this folder for every strategy's options.
 *
 * @example
 * ```ts
 * import { resolveStrategy, createFoldTools, encodePartial } from './strategy/index.js';
 * const { strategy, options } = resolveStrategy(session.strategy); // { name: 'fedadam', options: { eta: 0.03 } }
 * const partial = strategy.createPartial(options, ctx);
 * await strategy.foldUpdate(options, partial, update, createFoldTools({ layout, compressor }), ctx);
 * ```
 */
import { dp } from './dp/index.js';
import { fedavg } from './fedavg/index.js';
import { fedavgm } from './fedavgm/index.js';
import { fedbuff } from './fedbuff/index.js';
import { fedadagrad, fedadam, fedyogi } from './fedopt/index.js';
import { fedprox } from './fedprox/index.js';
import { fedsgd } from './fedsgd/index.js';
import { median } from './median/index.js';
import { normclip } from './normclip/index.js';
import { registerStrategy } from './registry.js';
import { scaffold } from './scaffold/index.js';
import { trimmedmean } from './trimmedmean/index.js';
import type { Strategy } from './types.js';

export type * from './types.js';
export { registerStrategy, getStrategy, listStrategies, describeStrategies, parseStrategyOptions, resolveStrategy, asStrategy } from './registry.js';
export { createFoldTools, flattenLayout, type FrameParser } from './fold-tools.js';
export type { FoldToolsOptions } from './fold-tools.js';
export { encodePartial, decodePartial } from './partial-codec.js';
export type { EncodedPartial } from './partial-codec.js';
export { createRng, mixSeed } from '@fedweb/codec';
export type { Rng } from '@fedweb/codec';
export { computeRdp, epsilonFromRdp, dpEpsilon, DEFAULT_RDP_ORDERS } from './dp/rdp.js';
export { stalenessWeight } from './fedbuff/index.js';
export { SCAFFOLD_PREFIX } from './scaffold/index.js';
export { fedavg, fedavgm, fedadam, fedyogi, fedadagrad, fedprox, fedsgd, fedbuff, scaffold, median, trimmedmean, normclip, dp };

/** Every built-in strategy, in documentation order. */
export const BUILTIN_STRATEGIES: readonly Strategy<any, any>[] = [
  fedavg, fedavgm, fedadam, fedyogi, fedadagrad, fedprox, fedsgd, fedbuff, scaffold, median, trimmedmean, normclip, dp,
];

for (const s of BUILTIN_STRATEGIES) registerStrategy(s, { replace: true });
