/**
 * What the dashboard charts per round beyond the round record: the metric counters' change over the round
 * (updates counted and refused by code, update bytes in, model bytes out), the float32 size of the updates that
 * came in, the round's duration and the clients online when it ended. Kept in memory (the rounds of this process's
 * life); rounds older than the process chart from their records alone.
 */
import type { Controller } from '../../controller/controller.js';
import type { CombinerRegistry } from '../../discovery/registry.js';
import { roundSeconds } from '../../metrics/controller-metrics.js';
import type { FedMetrics, MetricTotals } from '../../metrics/metrics.js';
import type { ModelRecord, RoundRecord, StateStore } from '../../store/types.js';

/** One round's row of the ledger. */
export interface LedgerRow {
  roundId: string;
  sessionId: string;
  round: number;
  status: RoundRecord['status'];
  reason: string | null;
  /** Updates counted by the reducer (all combiners). */
  updates: number;
  /** Refusals by code, seen by this process's combiner during the round. */
  refused: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  /** What the updates received would weigh as float32 (updates received x the model's size). */
  f32In: number;
  durationS: number;
  clientsOnline: number;
  endedAt: number;
}

const FINAL = new Set<RoundRecord['status']>(['committed', 'failed', 'aborted', 'interrupted']);
const KEEP = 2000;

/**
 * Records a {@link LedgerRow} at each round's final status and tells `listeners`.
 * @example
 * ```ts
 * const ledger = new RoundLedger({ controller, registry, state, metrics });
 * ledger.listen((row) => console.log(row.round, row.bytesIn));
 * ```
 */
export class RoundLedger {
  private readonly rows: LedgerRow[] = [];
  private readonly listeners = new Set<(row: LedgerRow, round: RoundRecord) => void>();
  private last: MetricTotals | null = null;
  private modelBytes = 0;
  /** The session whose model `modelBytes` measured (another session may train another layout). */
  private modelSession: string | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: { controller: Controller; registry: CombinerRegistry; state: StateStore; metrics?: FedMetrics }) {
    void this.totals().then((t) => (this.last ??= t));
    // The model's size (every model of a session has the same layout): from the event, no store read per round.
    deps.controller.on('model', (m: ModelRecord) => {
      this.modelBytes = m.bytes;
      this.modelSession = m.sessionId;
    });
    deps.controller.on('round', (r: RoundRecord) => {
      if (!FINAL.has(r.status)) return;
      // One at a time, in event order: each row is the change since the previous one.
      this.chain = this.chain.then(() => this.record(r)).catch(() => undefined);
    });
  }

  /** The rows of one session (all rows without an id), oldest first. */
  list(sessionId?: string): LedgerRow[] {
    return sessionId ? this.rows.filter((r) => r.sessionId === sessionId) : [...this.rows];
  }

  /** Calls `fn` with each new row (and its round record); returns the unsubscribe function. */
  listen(fn: (row: LedgerRow, round: RoundRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async totals(): Promise<MetricTotals> {
    return this.deps.metrics ? this.deps.metrics.totals() : { updates: {}, bytesIn: 0, bytesOut: 0 };
  }

  private async record(r: RoundRecord): Promise<void> {
    const now = await this.totals();
    const before = this.last ?? { updates: {}, bytesIn: 0, bytesOut: 0 };
    this.last = now;
    const refused: Record<string, number> = {};
    let received = 0;
    for (const [code, n] of Object.entries(now.updates)) {
      const d = n - (before.updates[code] ?? 0);
      if (d <= 0) continue;
      received += d;
      if (code !== 'counted') refused[code] = d;
    }
    if (this.modelSession !== r.sessionId) {
      this.modelBytes = (await this.sessionModelBytes(r.sessionId)) ?? 0;
      this.modelSession = r.sessionId;
    }
    const row: LedgerRow = {
      roundId: r.id,
      sessionId: r.sessionId,
      round: r.round,
      status: r.status,
      reason: r.reason,
      updates: r.updates,
      refused,
      bytesIn: now.bytesIn - before.bytesIn,
      bytesOut: now.bytesOut - before.bytesOut,
      f32In: received * this.modelBytes,
      durationS: roundSeconds(r),
      clientsOnline: this.deps.registry.list().reduce((n, c) => n + c.clients.size, 0),
      endedAt: Date.now(),
    };
    this.rows.push(row);
    if (this.rows.length > KEEP) this.rows.splice(0, this.rows.length - KEEP);
    for (const fn of this.listeners) fn(row, r);
  }

  private async sessionModelBytes(sessionId: string): Promise<number | null> {
    const s = await this.deps.state.getSession(sessionId);
    return s ? ((await this.deps.state.getModel(s.currentModelId))?.bytes ?? null) : null;
  }
}
