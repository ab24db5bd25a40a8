/**
 * Argument helpers shared by the `fedweb` subcommands: strict `parseArgs`, numeric flags, and the options every
 * REST command takes (`--url`, `--token`, `--timeout-ms`) with the typed API client they make.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fedError } from '@fedweb/codec';
import { ApiClient } from '../api-client/index.js';

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
  if (typeof v === 'string' && v.trim() === '') throw fedError('BAD_CONFIG', `--${name} must be a number, got ''`);
  if (!Number.isFinite(n)) throw fedError('BAD_CONFIG', `--${name} must be a number, got '${String(v)}'`);
  return n;
}

/** The options of every command that calls the REST API. */
export const REMOTE_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

/** Their help lines. */
export const REMOTE_HELP = `  --url <http-url>        the controller (default http://127.0.0.1:8080, or FEDWEB_URL)
  --token <jwt>           a token of a role that may call it (or FEDWEB_TOKEN)
  --timeout-ms <n>        per-request timeout (default 10000; transfers 120000)`;

/** `--json` of every read command. */
export const JSON_OPTION = { json: { type: 'boolean' } } as const;
export const JSON_HELP = '  --json                  print the answer as JSON instead of a table';

/**
 * The typed API client for `--url` / `--token` (or `FEDWEB_URL` / `FEDWEB_TOKEN`).
 * @example
 * ```ts
 * const api = remote(values);
 * const sessions = await api.listSessions();
 * ```
 */
export function remote(values: { url?: string | undefined; token?: string | undefined; 'timeout-ms'?: string | undefined }): ApiClient {
  const timeoutMs = num(values['timeout-ms'], 'timeout-ms');
  return new ApiClient({
    baseUrl: values.url ?? process.env.FEDWEB_URL ?? 'http://127.0.0.1:8080',
    token: values.token ?? process.env.FEDWEB_TOKEN,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

/**
 * The positional argument at `index`, or a BAD_CONFIG error showing the usage.
 * @example
 * ```ts
 * const id = need(positionals, 0, 'fedweb session pause <id>');
 * ```
 */
export function need(positionals: string[], index: number, usage: string): string {
  const v = positionals[index];
  if (v === undefined || v === '') throw fedError('BAD_CONFIG', `usage: ${usage}`);
  return v;
}
