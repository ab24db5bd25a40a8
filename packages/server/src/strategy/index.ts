/**
 * Aggregation strategies: the registry, the built-in strategies, and the host helpers combiners and the
 * reducer use (fold tools, partial encoding). See `README.md` in this folder for every strategy's options.
 *
 * @example
 * ```ts
 * import { resolveStrategy, createFoldTools } from './strategy/index.js';
 * const { strategy, options } = resolveStrategy(session.strategy);
 * ```
 */
import { fedavg } from './fedavg/index.js';
import { registerStrategy } from './registry.js';
import type { Strategy } from './types.js';

export type * from './types.js';
export { registerStrategy, getStrategy, listStrategies, describeStrategies, parseStrategyOptions, resolveStrategy, asStrategy } from './registry.js';
export { createFoldTools, flattenLayout } from './fold-tools.js';
export type { FoldToolsOptions } from './fold-tools.js';
export { encodePartial, decodePartial } from './partial-codec.js';
export type { EncodedPartial } from './partial-codec.js';
export { createRng, mixSeed } from './prng.js';
export type { Rng } from './prng.js';
export { fedavg };

/** Every built-in strategy, in documentation order. */
export const BUILTIN_STRATEGIES: readonly Strategy<any, any>[] = [fedavg];

for (const s of BUILTIN_STRATEGIES) registerStrategy(s, { replace: true });
