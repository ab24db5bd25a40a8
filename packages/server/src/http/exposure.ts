/**
 * Auth off is a loopback-only development mode: without a secret anyone who reaches the port can upload a compute
 * package, and every client then runs that code. The server refuses to listen beyond loopback without a secret
 * unless the operator says `insecure` explicitly.
 */
import { isIP } from 'node:net';
import { fedError } from '@fedweb/codec';

/**
 * True for a loopback listen address (`127.0.0.0/8`, `::1`, `localhost`, IPv4-mapped loopback).
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1') // true
 * isLoopbackHost('0.0.0.0') // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** What the server logs when auth is off. */
export const AUTH_OFF_WARNING =
  '!!! AUTH IS OFF (no --secret / FEDWEB_SECRET): anyone who can reach this port can upload a compute package, i.e. push code that every connected client will run, start sessions and join as any client. Development only. !!!';

/**
 * Throws unless auth is on, the host is loopback, or `insecure` was given.
 * @throws FedError BAD_CONFIG naming the host and the three ways out.
 * @example
 * ```ts
 * checkExposure({ host: '0.0.0.0', authEnabled: false, insecure: false }); // throws
 * ```
 */
export function checkExposure(opts: { host: string; authEnabled: boolean; insecure: boolean }): void {
  if (opts.authEnabled || opts.insecure || isLoopbackHost(opts.host)) return;
  throw fedError(
    'BAD_CONFIG',
    `refusing to listen on ${opts.host} with auth off: anyone on the network could push code (a compute package) to every client. ` +
      'Set a secret (--secret or FEDWEB_SECRET), listen on 127.0.0.1, or pass --insecure (ServerOptions.insecure) to accept that risk.',
  );
}
