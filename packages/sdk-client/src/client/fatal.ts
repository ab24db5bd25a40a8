/**
 * Which conditions end the client (`failed`) and which are retried with backoff, forever. An unattended kiosk
 * must outlive broken proxies and misbehaving servers, so almost everything is transient; only a refusal the
 * server itself typed (its `{ code, message }` body over HTTP, or its `error` answer to `hello`) for a reason
 * retrying cannot change is permanent:
 *
 * | condition                                                        | class     | what the client does                              |
 * | ---------------------------------------------------------------- | --------- | ------------------------------------------------- |
 * | typed `UNAUTHORIZED` (token invalid, expired or revoked)         | permanent | `failed`; recover with a new token + `restart()`  |
 * | typed `FORBIDDEN` (the token lacks the client role)              | permanent | `failed`; recover with a new token + `restart()`  |
 * | typed `VERSION_MISMATCH` (the server speaks another protocol)    | permanent | `failed`; recover by updating the SDK + `restart()` |
 * | anything else while joining (any other code, a bare HTTP status from a proxy, a socket closed, code 4000 "replaced", a timeout, a bad body) | transient | reconnect with capped, jittered exponential backoff |
 * | an unsolicited `error` message, whatever its code                | transient | reported; an auth code makes the client re-join so `hello` decides |
 * | a task that cannot run (bad settings, `PACKAGE_INVALID`, `HASH_MISMATCH`, ...) | per task | the task is refused and reported to the server; the client stays online |
 * | `PACKAGE_UNTRUSTED` (raised by the client: the package is not signed by a key of `trustedPackageKeys`) | permanent | `failed` before any package code runs; recover once the operator signs the package, with `restart()` |
 *
 * With `retry: 'always'` (a kiosk page that must never stop), permanent refusals are retried with backoff too.
 */
import { fedError, type FedError } from '@fedweb/codec';

/**
 * The codes that end the client when the server typed them in answer to joining.
 * @example
 * ```ts
 * if (PERMANENT_CODES.has(err.code)) console.log('needs an operator');
 * ```
 */
export const PERMANENT_CODES: ReadonlySet<string> = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'VERSION_MISMATCH']);

/**
 * Codes the client raises itself (never taken from a server's answer) for a task whose package it must not run:
 * `PACKAGE_UNTRUSTED`, a compute package that `trustedPackageKeys` do not vouch for. The client stops (`failed`)
 * instead of retrying: the server keeps sending a package this device must never run.
 * @example
 * ```ts
 * if (isPermanentTaskError(err, options.retry)) fail(err);
 * ```
 */
export const LOCAL_PERMANENT_CODES: ReadonlySet<string> = new Set(['PACKAGE_UNTRUSTED']);

/**
 * True when a task's error ends the client: a {@link LOCAL_PERMANENT_CODES} code the client raised itself (not one
 * a server typed), unless `mode` is `always`.
 * @example
 * ```ts
 * task.catch((e) => { if (isPermanentTaskError(toFedError(e), 'transient')) fail(e); });
 * ```
 */
export function isPermanentTaskError(err: FedError, mode: RetryMode = 'transient'): boolean {
  return mode !== 'always' && LOCAL_PERMANENT_CODES.has(err.code) && err.details?.['typed'] !== true;
}

/**
 * What the client does with a permanent refusal: `transient` (default) stops with `failed`, `always` keeps retrying.
 * @example
 * ```ts
 * new FedClient({ server, data, retry: 'always' }); // a kiosk that never gives up
 * ```
 */
export type RetryMode = 'transient' | 'always';

/**
 * Marks an error as the server's own typed answer (not a proxy's status line), so {@link isPermanent} may trust it.
 * @example
 * ```ts
 * throw typedByServer(fedError(reply.code, reply.message));
 * ```
 */
export function typedByServer(err: FedError): FedError {
  return fedError(err.code, err.message, { ...err.details, typed: true }, err.cause);
}

/**
 * True when `err` ends the client: a code of {@link PERMANENT_CODES} that the server typed itself, unless
 * `mode` is `always`.
 * @example
 * ```ts
 * if (isPermanent(err, options.retry)) throw err; else await sleep(backoff.next());
 * ```
 */
export function isPermanent(err: FedError, mode: RetryMode = 'transient'): boolean {
  return mode !== 'always' && PERMANENT_CODES.has(err.code) && err.details?.['typed'] === true;
}
