/**
 * The one error-code table every tier uses. Codes cross the wire as `{ kind: 'error', code, message }`.
 * `retryable` tells a client whether trying the same thing again later can succeed; `http` is the status a REST
 * response with this code carries (one status per code, for the server and every HTTP client alike).
 *
 * @example
 * ```ts
 * throw fedError('SHAPE_MISMATCH', `tensor dense/kernel has shape [3,4], expected [4,4]`);
 * ```
 */
export const ERROR_CODES = {
  BAD_MESSAGE: { retryable: false, http: 400, summary: 'a control message failed schema validation' },
  VERSION_MISMATCH: { retryable: false, http: 400, summary: 'the peer speaks another protocol or frame version' },
  BAD_FRAME: { retryable: false, http: 400, summary: 'a tensor frame is malformed (header, offsets, lengths, values)' },
  FRAME_TOO_LARGE: { retryable: false, http: 413, summary: 'a frame, chunk or inflated body exceeds its size limit' },
  SHAPE_MISMATCH: { retryable: false, http: 400, summary: 'tensor names, shapes or dtypes differ from the global model' },
  NON_FINITE: { retryable: false, http: 400, summary: 'a tensor holds NaN or Infinity' },
  HASH_MISMATCH: { retryable: true, http: 400, summary: 'SHA-256 of received bytes differs from the announced one' },
  BAD_CHUNK: { retryable: true, http: 400, summary: 'a chunk is missing, duplicated, out of window or inconsistent' },
  COMPRESSION: { retryable: false, http: 400, summary: 'deflate/inflate failed' },
  STALE_ROUND: { retryable: false, http: 409, summary: 'the update is for a round that is closed or unknown' },
  NOT_SELECTED: { retryable: false, http: 409, summary: 'this client was not selected for the round' },
  DUPLICATE_UPDATE: { retryable: false, http: 409, summary: 'an update for this round from this client was already counted' },
  NORM_EXCEEDED: { retryable: false, http: 400, summary: 'the update L2 norm exceeds the session bound' },
  UNAUTHORIZED: { retryable: false, http: 401, summary: 'missing or invalid token' },
  FORBIDDEN: { retryable: false, http: 403, summary: 'the token role may not do this' },
  NOT_FOUND: { retryable: false, http: 404, summary: 'no such session, model, package or client' },
  CONFLICT: { retryable: false, http: 409, summary: 'the request conflicts with the current state' },
  BAD_CONFIG: { retryable: false, http: 400, summary: 'a configuration or request body is invalid' },
  UNAVAILABLE: { retryable: true, http: 503, summary: 'the service or combiner is not available now' },
  TIMEOUT: { retryable: true, http: 504, summary: 'an operation did not finish in time' },
  ABORTED: { retryable: true, http: 500, summary: 'the operation was aborted' },
  WORKER_DIED: { retryable: true, http: 500, summary: 'the training worker terminated unexpectedly' },
  BACKEND_UNAVAILABLE: { retryable: false, http: 500, summary: 'no tfjs backend can train this model here' },
  PACKAGE_INVALID: { retryable: false, http: 422, summary: 'the compute package is malformed or fails its hash' },
  PACKAGE_UNTRUSTED: { retryable: false, http: 422, summary: 'the compute package is not signed by a key this client trusts' },
  UNTRUSTED_ORIGIN: { retryable: false, http: 400, summary: 'a URL points at an origin the client does not trust with its token' },
  STORAGE: { retryable: true, http: 500, summary: 'local or server storage failed' },
  INTERNAL: { retryable: true, http: 500, summary: 'an unexpected internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/**
 * The HTTP status of an error code (from {@link ERROR_CODES}).
 * @example
 * ```ts
 * httpStatusOf('NOT_FOUND') // 404
 * ```
 */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

/** For statuses several codes share: the general code a bodiless response stands for. */
const GENERAL_CODE: Partial<Record<number, ErrorCode>> = { 400: 'BAD_CONFIG', 408: 'TIMEOUT', 409: 'CONFLICT', 422: 'PACKAGE_INVALID', 429: 'UNAVAILABLE' };

/**
 * The error code a response stands for when it carries no fedweb error body (a proxy's page, an empty body):
 * the one code with that status in {@link ERROR_CODES}, else the general code for it; other 5xx are
 * `UNAVAILABLE` (retryable), other 4xx `BAD_CONFIG`.
 * @example
 * ```ts
 * errorCodeForHttpStatus(404) // 'NOT_FOUND'
 * errorCodeForHttpStatus(502) // 'UNAVAILABLE'
 * ```
 */
export function errorCodeForHttpStatus(status: number): ErrorCode {
  const general = GENERAL_CODE[status];
  if (general) return general;
  const codes = ERROR_CODE_NAMES.filter((c) => ERROR_CODES[c].http === status);
  if (codes.length === 1) return codes[0] as ErrorCode;
  return status >= 500 ? 'UNAVAILABLE' : 'BAD_CONFIG';
}

/** The single error class of fedweb. `code` is from {@link ERROR_CODES}. */
export class FedError extends Error {
  override readonly name = 'FedError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = details;
  }

  /** The wire form: `{ code, message }` (details are kept local; they may hold paths or values). */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

/**
 * Factory for {@link FedError}.
 * @example
 * ```ts
 * if (len > limit) throw fedError('FRAME_TOO_LARGE', `body is ${len} bytes, limit ${limit}`);
 * ```
 */
export function fedError(code: ErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): FedError {
  return new FedError(code, message, details, cause === undefined ? undefined : { cause });
}

/** True when `e` is a {@link FedError}, optionally of the given code. */
export function isFedError(e: unknown, code?: ErrorCode): e is FedError {
  return e instanceof FedError && (code === undefined || e.code === code);
}

/** Wraps any thrown value as a {@link FedError} (unknown errors become `INTERNAL`). */
export function toFedError(e: unknown, fallback: ErrorCode = 'INTERNAL'): FedError {
  if (e instanceof FedError) return e;
  if (e instanceof Error && e.name === 'AbortError') return fedError('ABORTED', e.message, undefined, e);
  return fedError(fallback, e instanceof Error ? e.message : String(e), undefined, e);
}
