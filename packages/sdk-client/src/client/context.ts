/**
 * What the parts of one FedClient share: its options, platform, timeouts, voice and HTTP endpoint, and the state
 * opened at start (cache, client id, device key) and held while joined (the connection). The facade builds it.
 */
import { fedError } from '@fedweb/codec';
import type { ClientCache } from '../cache/types.js';
import type { Connection } from '../transport/connection.js';
import type { Endpoint } from './endpoint.js';
import type { Reporter } from './reporter.js';
import type { AcknowledgedRounds } from './acknowledged.js';
import type { FedClientLimits, FedClientOptions, FedClientTimeouts, FedPlatform } from './types.js';

/**
 * The shared context of a FedClient's parts.
 * @example
 * ```ts
 * const cache = requireCache(ctx);
 * await cache.deletePendingTask(ctx.clientId(), roundId);
 * ```
 */
export interface ClientContext {
  readonly options: FedClientOptions;
  readonly platform: FedPlatform;
  readonly timeouts: FedClientTimeouts;
  readonly limits: FedClientLimits;
  /** Rounds whose update was acknowledged (a re-sent task for one is not trained again). */
  readonly acknowledged: AcknowledgedRounds;
  readonly reporter: Reporter;
  readonly endpoint: Endpoint;
  /** The cache while the client runs (undefined before start opened it and after stop closed it). */
  cache(): ClientCache | undefined;
  /** The client id (known once the cache is open). */
  clientId(): string;
  /** The device class, part of the backend-decision cache key. */
  deviceKey(): string;
  /** The connection to the combiner, once it welcomed this client and until it closes. */
  connection(): Connection | undefined;
}

/**
 * The open cache, or `ABORTED` when the client stopped (its cache is closed).
 * @example
 * ```ts
 * const pending = await requireCache(ctx).getPendingUpdate(ctx.clientId());
 * ```
 */
export function requireCache(ctx: ClientContext): ClientCache {
  const cache = ctx.cache();
  if (!cache) throw fedError('ABORTED', 'the client stopped: its cache is closed');
  return cache;
}
