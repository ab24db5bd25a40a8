/**
 * Which refusals end the client for good (it stops and reports `failed`) instead of being retried.
 */

/**
 * Errors after which retrying cannot help: the client stops and reports `failed`. `PACKAGE_UNTRUSTED`: the server
 * sends a compute package this client's `trustedPackageKeys` do not vouch for.
 * @example
 * ```ts
 * if (FATAL_CODES.has(err.code)) fail(err);
 * ```
 */
export const FATAL_CODES: ReadonlySet<string> = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'VERSION_MISMATCH', 'BAD_CONFIG', 'PACKAGE_UNTRUSTED']);

/**
 * While connecting, also `CONFLICT`: another instance holds this client id.
 * @example
 * ```ts
 * if (FATAL_ON_CONNECT.has(err.code)) throw err; // no reconnect
 * ```
 */
export const FATAL_ON_CONNECT: ReadonlySet<string> = new Set([...FATAL_CODES, 'CONFLICT']);
