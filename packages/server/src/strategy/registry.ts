/**
 * The strategy registry: users pick a strategy by name in the session config (`strategy: { name, options }`)
 * or on the command line (`--strategy fedadam`). Built-ins are registered by `index.ts`; a custom strategy
 * is a module implementing {@link Strategy}, registered in code or loaded from a compute package's server
 * section through {@link asStrategy} (a module object, never `eval` of a string).
 */
import { fedError } from '@fedweb/codec';
import { z } from 'zod';
import type { Strategy } from './types.js';

// The registry is the one piece of module-level state here; strategies themselves stay pure.
const registry = new Map<string, Strategy<any, any>>();

const NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Registers a strategy under `strategy.name` (lower-case, digits, dashes; at most 64 chars). Re-registering
 * an existing name is refused with CONFLICT unless `{ replace: true }`.
 * @example
 * ```ts
 * registerStrategy(myStrategy);
 * getStrategy('my-strategy');
 * ```
 */
export function registerStrategy<O, S>(strategy: Strategy<O, S>, opts: { replace?: boolean } = {}): void {
  const s = asStrategy(strategy);
  if (registry.has(s.name) && !opts.replace) {
    throw fedError('CONFLICT', `a strategy named '${s.name}' is already registered (pass { replace: true } to replace it)`);
  }
  registry.set(s.name, s);
}

/**
 * The strategy registered under `name`; BAD_CONFIG listing the known names otherwise.
 * @example
 * ```ts
 * const strategy = getStrategy('fedadam');
 * ```
 */
export function getStrategy(name: string): Strategy<unknown, unknown> {
  const s = registry.get(name);
  if (!s) throw fedError('BAD_CONFIG', `unknown strategy '${String(name)}'; known strategies: ${listStrategies().join(', ')}`);
  return s as Strategy<unknown, unknown>;
}

/**
 * The registered strategy names, sorted.
 * @example
 * ```ts
 * listStrategies(); // ['dp', 'fedadagrad', 'fedadam', 'fedavg', ...]
 * ```
 */
export function listStrategies(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Name, mode and description of every registered strategy (for `--help`, the API and the dashboard).
 * @example
 * ```ts
 * describeStrategies(); // [{ name: 'fedavg', mode: 'sync', description: 'FedAvg: ...' }, ...]
 * ```
 */
export function describeStrategies(): { name: string; mode: 'sync' | 'async'; description: string }[] {
  return listStrategies().map((name) => {
    const s = registry.get(name)!;
    return { name, mode: s.mode, description: s.description ?? '' };
  });
}

/**
 * Validates and defaults `options` for the named strategy with its zod schema; BAD_CONFIG says which
 * option is wrong and why (unknown names of options are refused, so typos do not pass silently).
 * @example
 * ```ts
 * const options = parseStrategyOptions('fedadam', { eta: 0.03 }); // { eta: 0.03, beta1: 0.9, beta2: 0.99, tau: 0.001 }
 * ```
 */
export function parseStrategyOptions(name: string, options: unknown): unknown {
  const strategy = getStrategy(name);
  const parsed = strategy.optionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    throw fedError('BAD_CONFIG', `invalid options for strategy '${name}': ${z.prettifyError(parsed.error)}`, {
      issues: parsed.error.issues,
    });
  }
  return parsed.data;
}

/**
 * Looks up a strategy and parses its options in one go (what the controller does with a session config).
 * @example
 * ```ts
 * const { strategy, options } = resolveStrategy({ name: 'fedprox', options: { mu: 0.1 } });
 * ```
 */
export function resolveStrategy(config: { name: string; options?: unknown }): { strategy: Strategy<unknown, unknown>; options: unknown } {
  return { strategy: getStrategy(config.name), options: parseStrategyOptions(config.name, config.options) };
}

const REQUIRED_FUNCTIONS = [
  'initState', 'configureFit', 'createPartial', 'foldUpdate', 'mergePartials', 'serverStep', 'encodeState', 'decodeState',
] as const;

/**
 * Checks that a value (e.g. the `strategy` export of a compute package's server module, obtained with a
 * dynamic `import()`) implements the {@link Strategy} shape; PACKAGE_INVALID says what is missing.
 * @example
 * ```ts
 * const mod = await import(pathToFileURL(serverModulePath).href);
 * registerStrategy(asStrategy(mod.strategy));
 * ```
 */
export function asStrategy(value: unknown): Strategy<any, any> {
  if (typeof value !== 'object' || value === null) throw fedError('PACKAGE_INVALID', 'a strategy must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || !NAME.test(v.name)) {
    throw fedError('PACKAGE_INVALID', `strategy name ${JSON.stringify(v.name)} must match ${NAME}`);
  }
  if (v.mode !== 'sync' && v.mode !== 'async') throw fedError('PACKAGE_INVALID', `strategy '${v.name}': mode must be 'sync' or 'async'`);
  const schema = v.optionsSchema as { safeParse?: unknown } | undefined;
  if (!schema || typeof schema.safeParse !== 'function') {
    throw fedError('PACKAGE_INVALID', `strategy '${v.name}': optionsSchema must be a zod schema`);
  }
  for (const f of REQUIRED_FUNCTIONS) {
    if (typeof v[f] !== 'function') throw fedError('PACKAGE_INVALID', `strategy '${v.name}': ${f} must be a function`);
  }
  if (v.mode === 'async' && typeof v.asyncConfig !== 'function') {
    throw fedError('PACKAGE_INVALID', `strategy '${v.name}': async strategies must define asyncConfig()`);
  }
  return value as Strategy<any, any>;
}
