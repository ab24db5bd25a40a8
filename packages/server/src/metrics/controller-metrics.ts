/**
 * The controller's side of the metrics: rounds and their durations from the controller's `round` event, the
 * sessions gauge from the state store, clients per combiner from discovery, and the global model bytes served.
 */
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../controller/controller.js';
import type { CombinerRegistry } from '../discovery/registry.js';
import type { RoundRecord, SessionStatus, StateStore } from '../store/types.js';
import { FedMetrics } from './metrics.js';

const FINAL = new Set<RoundRecord['status']>(['committed', 'failed', 'aborted', 'interrupted']);

/**
 * How long a round took, in seconds: start to commit (plus the commit itself), else start to now.
 * @example
 * ```ts
 * roundSeconds(round) // 12.5
 * ```
 */
export function roundSeconds(r: RoundRecord, now = Date.now()): number {
  const end = r.committedAt !== null ? r.committedAt + (r.timings.commit ?? 0) : now;
  return Math.max(0, end - r.startedAt) / 1000;
}

/**
 * The metrics of a controller (its embedded combiner reports through `metrics.observer()`), fed by its events.
 * @example
 * ```ts
 * const metrics = controllerMetrics({ controller, registry, state });
 * ```
 */
export function controllerMetrics(deps: { controller: Controller; registry: CombinerRegistry; state: StateStore }): FedMetrics {
  const metrics = new FedMetrics({
    clients: () => deps.registry.list().map((c) => [c.id, c.clients.size] as const),
    async sessions() {
      const counts: Partial<Record<SessionStatus, number>> = {};
      for (const s of await deps.state.listSessions()) counts[s.status] = (counts[s.status] ?? 0) + 1;
      return counts;
    },
  });
  deps.controller.on('round', (r: RoundRecord) => {
    if (!FINAL.has(r.status)) return;
    metrics.rounds.inc({ status: r.status });
    metrics.roundDuration.observe(roundSeconds(r));
  });
  return metrics;
}

/**
 * Counts the bytes of every global model served (`GET /api/models/:id` or a download-stream blob, 200) as `direction="out"`.
 * @example
 * ```ts
 * countModelDownloads(app, metrics);
 * ```
 */
export function countModelDownloads(app: FastifyInstance, metrics: FedMetrics): void {
  app.addHook('onResponse', async (req, reply) => {
    // Models go out as trail models (`/api/models/:id`) or as the download stream's blobs (`/api/blobs/:sha256`:
    // a delta, or a reconstruction in full).
    if (req.method !== 'GET' || reply.statusCode !== 200 || !(req.url.startsWith('/api/models/') || req.url.startsWith('/api/blobs/'))) return;
    const n = Number(reply.getHeader('content-length'));
    if (Number.isFinite(n) && n > 0) metrics.bytes.inc({ direction: 'out' }, n);
  });
}
