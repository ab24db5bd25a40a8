import { createRequire } from 'node:module';
/**
 * The logger shape fedweb uses (pino's, which Fastify provides): `log.warn({ clientId }, 'message')`.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child?(bindings: object): Logger;
}

export type LogLevel = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A child logger with bindings, or the same logger when it cannot make children.
 * @example
 * ```ts
 * const log = childLogger(app.log, { combinerId: 'c2' });
 * ```
 */
export function childLogger(log: Logger, bindings: object): Logger {
  return log.child ? log.child(bindings) : log;
}

/**
 * Fastify's `logger` option: human-readable lines (pino-pretty, in pino's worker thread) when `pretty` is true,
 * JSON lines otherwise. `pretty` defaults to "stdout is a terminal", so a person at `npm start` or `fedweb server`
 * reads sentences while a log collector (a pipe, a file, systemd) still gets one JSON object a line.
 * @example
 * ```ts
 * Fastify({ logger: loggerOptions('info') });
 * ```
 */
export function loggerOptions(level: LogLevel, pretty: boolean = process.stdout.isTTY === true): { level: LogLevel; transport?: { target: string; options: object } } {
  if (!pretty) return { level };
  return { level, transport: { target: createRequire(import.meta.url).resolve('pino-pretty'), options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } };
}
