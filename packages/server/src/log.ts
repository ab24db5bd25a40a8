import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
/**
 * The logger shape fedweb uses (pino's, which Fastify provides): `log.warn({ clientId }, 'message')`.
 */
import type { FastifyServerOptions } from 'fastify';

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

/** Query parameters whose values never reach a log line. */
const SECRET_PARAM = /([?&;](?:token|access_token|id_token|jwt|auth|authorization|key|secret|password|sig|signature)=)[^&#;]*/gi;

/**
 * A URL fit for a log line: the values of `?token=` and other credential-like query parameters are replaced.
 * @example
 * ```ts
 * redactUrl('/ws/client?token=eyJ...&x=1') // '/ws/client?token=[redacted]&x=1'
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAM, '$1[redacted]');
}

/**
 * Fastify/pino logger options for fedweb's servers: requests are logged as method and redacted URL (no
 * headers), and `authorization` / `token` fields are censored wherever a log line carries them. Lines are
 * human-readable (pino-pretty, in pino's worker thread) when `pretty` is true, JSON otherwise; `pretty` defaults to
 * "stdout is a terminal", so a person at `npm start` or `fedweb server` reads sentences while a log collector (a
 * pipe, a file, systemd) still gets one JSON object a line.
 * @example
 * ```ts
 * const app = Fastify({ logger: serverLoggerOptions('info') });
 * ```
 */
export function serverLoggerOptions(level: LogLevel, pretty: boolean = process.stdout.isTTY === true): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: ['authorization', 'token', 'headers.authorization', 'req.headers.authorization', '*.authorization', '*.token'], censor: '[redacted]' },
    serializers: { req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: redactUrl(req.url ?? ''), reqId: req.id }) },
    ...(pretty ? { transport: { target: createRequire(import.meta.url).resolve('pino-pretty'), options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is a plain token (so a proxy's id runs through the
 * logs), else 12 random hex digits. Every line a request logs (`req.log`) carries it as `reqId`, and so does every
 * line of a WebSocket opened by that request (its upgrade request is the connection's id).
 * @example
 * ```ts
 * const app = Fastify({ genReqId: newRequestId });
 * ```
 */
export function newRequestId(req?: IncomingMessage): string {
  const given = req?.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  return randomBytes(6).toString('hex');
}

/**
 * A logger that adds `reqId` to every line: what a WebSocket's peer logs (invalid messages, socket errors) names
 * its connection. A class rather than a pino child, so an idle socket holds two fields, not a child's bindings.
 * @example
 * ```ts
 * const peer = wsPeer(ws, new RequestLogger(log, req.id), handlers);
 * ```
 */
export class RequestLogger implements Logger {
  constructor(
    private readonly log: Logger,
    private readonly reqId: string,
  ) {}

  debug(obj: object, msg?: string): void {
    this.log.debug({ reqId: this.reqId, ...obj }, msg);
  }

  info(obj: object, msg?: string): void {
    this.log.info({ reqId: this.reqId, ...obj }, msg);
  }

  warn(obj: object, msg?: string): void {
    this.log.warn({ reqId: this.reqId, ...obj }, msg);
  }

  error(obj: object, msg?: string): void {
    this.log.error({ reqId: this.reqId, ...obj }, msg);
  }
}
