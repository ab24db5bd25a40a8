/**
 * What every route module gets: the controller, discovery and the stores ({@link ApiDeps}), and the small
 * cache that serves a round's model (or a package bundle) from memory instead of once per client from disk.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fedError } from '@fedweb/codec';
import type { SigningKey } from '../../auth-keys.js';
import type { Controller } from '../../controller/controller.js';
import type { CombinerRegistry } from '../../discovery/registry.js';
import type { FedMetrics } from '../../metrics/metrics.js';
import type { BlobStore, StateStore } from '../../store/types.js';
import { sendImmutable } from '../plumbing.js';

export interface ApiDeps {
  controller: Controller;
  registry: CombinerRegistry;
  state: StateStore;
  blobs: BlobStore;
  authEnabled: boolean;
  /** The token signing key (auth on): served as a JWKS, used by `POST /api/tokens`. */
  signingKey?: SigningKey;
  startedAt: number;
  maxPackageBytes: number;
  /** The server's metrics (the dashboard charts their per-round changes). */
  metrics?: FedMetrics;
}

/** Route registration context: the deps plus the shared blob cache. */
export interface RouteContext extends ApiDeps {
  /**
   * Serves the blob `sha256` (from the cache, else the store) as immutable bytes, 304 on a matching ETag. With
   * `missing`, an absent blob is NOT_FOUND with that message even when the ETag matches.
   */
  serveBlob(req: FastifyRequest, reply: FastifyReply, sha256: string, contentType: string, missing?: string): Promise<FastifyReply>;
}

const CACHE_ENTRIES = 4;
const CACHE_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Builds the route context: the few most recent blobs stay in memory, so a round's model is read once.
 * @example
 * ```ts
 * const ctx = routeContext(deps);
 * app.get('/api/blobs/:sha256', (req, reply) => ctx.serveBlob(req, reply, sha, 'application/octet-stream'));
 * ```
 */
export function routeContext(deps: ApiDeps): RouteContext {
  const cache = new Map<string, Uint8Array>();
  const cachedBlob = async (sha: string): Promise<Uint8Array | null> => {
    const hit = cache.get(sha);
    if (hit) return hit;
    const bytes = await deps.blobs.get(sha);
    if (bytes && bytes.byteLength <= CACHE_MAX_BYTES) {
      cache.set(sha, bytes);
      while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    }
    return bytes;
  };
  return {
    ...deps,
    serveBlob: async (req, reply, sha256, contentType, missing) => {
      const bytes = await cachedBlob(sha256);
      if (!bytes && missing) throw fedError('NOT_FOUND', missing);
      return sendImmutable(req, reply, sha256, bytes, contentType);
    },
  };
}
