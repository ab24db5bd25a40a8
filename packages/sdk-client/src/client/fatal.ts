/**
 * Which refusals end the client for good (it stops and reports `failed`) instead of being retried.
 */

/**
 * Errors after which retrying cannot help: the client stops and reports `failed`.
 * @example
 * ```ts
 * if (FATAL_CODES.has(err.code)) fail(err);
 * ```
 */
export const FATAL_CODES: ReadonlySet<string> = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'VERSION_MISMATCH', 'BAD_CONFIG']);

/**
 * While connecting, also `CONFLICT`: another instance holds this client id.
 * @example
 * ```ts
 * if (FATAL_ON_CONNECT.has(err.code)) throw err; // no reconnect
 * ```
 */
export const FATAL_ON_CONNECT: ReadonlySet<string> = new Set([...FATAL_CODES, 'CONFLICT']);
