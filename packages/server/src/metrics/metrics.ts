/**
 * metrics/ owns fedweb's Prometheus metrics (`prom-client`): one {@link FedMetrics} (and its own `Registry`, never
 * the global default one, so several servers in one process keep their numbers apart) per controller or external
 * combiner. The controller's events feed it (controller-metrics.ts), the combiner's admission reports each update
 * through an {@link AdmissionObserver}, and route.ts serves the exposition text at `/metrics`.
 *
 * The names (the same on a controller and on an external combiner):
 *  - `fedweb_rounds_total{status}`            rounds that reached a final status (committed, failed, aborted, interrupted)
 *  - `fedweb_updates_total{result}`           client updates: `counted`, or the refusal code (`STALE_ROUND`, `NORM_EXCEEDED`, ...)
 *  - `fedweb_update_bytes_total{direction}`   `in`: update frames received from clients; `out`: global model bytes served to them
 *  - `fedweb_fold_seconds`                    histogram: an update's checks and fold into the running sum
 *  - `fedweb_round_duration_seconds`          histogram: round start to its final status
 *  - `fedweb_clients_connected{combiner}`     connected clients per combiner
 *  - `fedweb_sessions{state}`                 sessions per status (controller only; zero on a combiner)
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionObserver } from '../combiner/admission.js';
import type { SessionStatus } from '../store/types.js';

export const SESSION_STATES: readonly SessionStatus[] = ['running', 'paused', 'completed', 'stopped', 'failed'];
const ROUND_STATES = ['committed', 'failed', 'aborted', 'interrupted'] as const;

/** Where the gauges read their values at each scrape. */
export interface MetricSources {
  /** Connected clients per combiner id. */
  clients(): Iterable<readonly [string, number]>;
  /** Sessions per status (absent on a combiner). */
  sessions?(): Promise<Partial<Record<SessionStatus, number>>>;
}

/** The counters' values at one moment (the dashboard diffs two of them per round). */
export interface MetricTotals {
  updates: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
}

/**
 * One server's or combiner's metrics, in a registry of its own.
 * @example
 * ```ts
 * const metrics = new FedMetrics({ clients: () => [['embedded', combiner.clientCount]] });
 * metrics.updates.inc({ result: 'counted' });
 * const text = await metrics.exposition(); // Prometheus text format
 * ```
 */
export class FedMetrics {
  readonly registry = new Registry();
  readonly rounds: Counter<'status'>;
  readonly updates: Counter<'result'>;
  readonly bytes: Counter<'direction'>;
  readonly fold: Histogram;
  readonly roundDuration: Histogram;
  readonly clients: Gauge<'combiner'>;
  readonly sessions: Gauge<'state'>;
  /** Updates counted per client id since start, by this process's combiner (the dashboard's fleet table; not exported). */
  readonly contributions = new Map<string, number>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.rounds = new Counter({ name: 'fedweb_rounds_total', help: 'Rounds that reached a final status, by status.', labelNames: ['status'], registers });
    this.updates = new Counter({ name: 'fedweb_updates_total', help: "Client updates: 'counted', or the refusal code.", labelNames: ['result'], registers });
    this.bytes = new Counter({ name: 'fedweb_update_bytes_total', help: "Bytes: 'in' = update frames received from clients, 'out' = global model bytes served to clients.", labelNames: ['direction'], registers });
    this.fold = new Histogram({ name: 'fedweb_fold_seconds', help: "An update's checks and fold into the running sum, seconds.", buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    this.roundDuration = new Histogram({ name: 'fedweb_round_duration_seconds', help: 'Round start to its final status, seconds.', buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800], registers });
    this.clients = new Gauge({
      name: 'fedweb_clients_connected',
      help: 'Connected clients, by combiner.',
      labelNames: ['combiner'],
      registers,
      collect() {
        this.reset();
        for (const [combiner, n] of sources.clients()) this.set({ combiner }, n);
      },
    });
    this.sessions = new Gauge({
      name: 'fedweb_sessions',
      help: 'Sessions, by status.',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = (await sources.sessions?.()) ?? {};
        for (const state of SESSION_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    for (const status of ROUND_STATES) this.rounds.inc({ status }, 0);
    this.updates.inc({ result: 'counted' }, 0);
    this.bytes.inc({ direction: 'in' }, 0);
    this.bytes.inc({ direction: 'out' }, 0);
  }

  /** The hook a combiner's admission reports each update through. */
  observer(): AdmissionObserver {
    return {
      received: (bytes) => this.bytes.inc({ direction: 'in' }, bytes),
      counted: (seconds, clientId) => {
        this.updates.inc({ result: 'counted' });
        this.contributions.set(clientId, (this.contributions.get(clientId) ?? 0) + 1);
        this.fold.observe(seconds);
      },
      refused: (code) => this.updates.inc({ result: code }),
    };
  }

  /** The Prometheus text exposition of this registry. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The update and byte counters now. */
  async totals(): Promise<MetricTotals> {
    const updates: Record<string, number> = {};
    for (const v of (await this.updates.get()).values) updates[String(v.labels.result)] = v.value;
    const bytes = (await this.bytes.get()).values;
    const dir = (d: string): number => bytes.find((v) => v.labels.direction === d)?.value ?? 0;
    return { updates, bytesIn: dir('in'), bytesOut: dir('out') };
  }
}
