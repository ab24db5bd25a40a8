import type { Strategy } from './types.js';
/**
 * Registers a strategy under `strategy.name` (lower-case, digits, dashes; at most 64 chars). Re-registering
 * an existing name is refused with CONFLICT unless `{ replace: true }`.
 * @example
 * ```ts
 * registerStrategy(myStrategy);
 * getStrategy('my-strategy');
 * ```
 */
export declare function registerStrategy<O, S>(strategy: Strategy<O, S>, opts?: {
    replace?: boolean;
}): void;
/**
 * The strategy registered under `name`; BAD_CONFIG listing the known names otherwise.
 * @example
 * ```ts
 * const strategy = getStrategy('fedadam');
 * ```
 */
export declare function getStrategy(name: string): Strategy<unknown, unknown>;
/**
 * The registered strategy names, sorted.
 * @example
 * ```ts
 * listStrategies(); // ['dp', 'fedadagrad', 'fedadam', 'fedavg', ...]
 * ```
 */
export declare function listStrategies(): string[];
/**
 * Name, mode and description of every registered strategy (for `--help`, the API and the dashboard).
 * @example
 * ```ts
 * describeStrategies(); // [{ name: 'fedavg', mode: 'sync', description: 'FedAvg: ...' }, ...]
 * ```
 */
export declare function describeStrategies(): {
    name: string;
    mode: 'sync' | 'async';
    description: string;
}[];
/**
 * Validates and defaults `options` for the named strategy with its zod schema; BAD_CONFIG says which
 * option is wrong and why (unknown names of options are refused, so typos do not pass silently).
 * @example
 * ```ts
 * const options = parseStrategyOptions('fedadam', { eta: 0.03 }); // { eta: 0.03, beta1: 0.9, beta2: 0.99, tau: 0.001 }
 * ```
 */
export declare function parseStrategyOptions(name: string, options: unknown): unknown;
/**
 * Looks up a strategy and parses its options in one go (what the controller does with a session config).
 * @example
 * ```ts
 * const { strategy, options } = resolveStrategy({ name: 'fedprox', options: { mu: 0.1 } });
 * ```
 */
export declare function resolveStrategy(config: {
    name: string;
    options?: unknown;
}): {
    strategy: Strategy<unknown, unknown>;
    options: unknown;
};
/**
 * Checks that a value (e.g. the `strategy` export of a compute package's server module, obtained with a
 * dynamic `import()`) implements the {@link Strategy} shape; PACKAGE_INVALID says what is missing.
 * @example
 * ```ts
 * const mod = await import(pathToFileURL(serverModulePath).href);
 * registerStrategy(asStrategy(mod.strategy));
 * ```
 */
export declare function asStrategy(value: unknown): Strategy<any, any>;
