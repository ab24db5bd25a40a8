/**
 * Argument helpers shared by the `fedweb` subcommands (cli.ts, cli-package.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict `parseArgs` with `--help`/`-h` and `--no-<flag>` negation.
 * @example
 * ```ts
 * const { values } = parse(args, { port: { type: 'string' } });
 * ```
 */
export function parse<const O extends Options>(args: string[], options: O, allowPositionals = false) {
  return parseArgs({ args, options: { ...options, help: { type: 'boolean' as const, short: 'h' } }, allowPositionals, strict: true as const, allowNegative: true });
}

/**
 * A numeric flag value (undefined when absent), or an error naming the flag.
 * @example
 * ```ts
 * num(values.port, 'port') ?? 8080
 * ```
 */
export function num(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${String(v)}'`);
  return n;
}
