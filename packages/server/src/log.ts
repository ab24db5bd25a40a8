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
