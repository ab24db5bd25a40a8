/**
 * A combiner's link up to the controller: `combiner.hello`, the client list (`combiner.status`, debounced and
 * repeated as a keepalive) and partial aggregates (`round.partial` plus its chunks), which it tracks so that
 * shutdown can wait for them.
 */
import { randomBytes } from 'node:crypto';
import { fedError, type ClientInfo } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { encodePartial } from '../strategy/index.js';
import type { PartialAggregate } from '../strategy/types.js';
import { chunkFrame, guard, sendChunks, type OutMessage, type Peer } from '../transport.js';
import type { Tally } from './admission.js';

/**
 * A short random id with a prefix (`t…` train task, `v…` validation task, `p…` partial upload).
 * @example
 * ```ts
 * shortId('t'); // 't3f9a0c2b71de'
 * ```
 */
export const shortId = (prefix: string): string => `${prefix}${randomBytes(6).toString('hex')}`;

/**
 * The controller side of one combiner.
 * @example
 * ```ts
 * const link = new ControllerLink('c1', log, 5000, () => hub.infos());
 * link.attach(peer, 'ws://10.0.0.2:9000/ws/client');
 * await link.sendPartial(roundId, partial, tally);
 * ```
 */
export class ControllerLink {
  private peer: Peer | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private readonly keepaliveTimer: NodeJS.Timeout;
  private readonly pendingSends = new Set<Promise<void>>();
  private closing = false;

  constructor(
    private readonly combinerId: string,
    private readonly log: Logger,
    heartbeatMs: number,
    private readonly clients: () => ClientInfo[],
  ) {
    this.keepaliveTimer = setInterval(() => guard(log, 'status keepalive', () => this.sendStatus()), Math.max(1000, heartbeatMs));
    this.keepaliveTimer.unref();
  }

  get open(): boolean {
    return !!this.peer?.open;
  }

  /** Uses `peer` as the link: announces this combiner and its clients. */
  attach(peer: Peer, clientUrl: string, token?: string): void {
    this.peer = peer;
    peer.send({ v: 2, kind: 'combiner.hello', combinerId: this.combinerId, url: clientUrl, ...(token ? { token } : {}) });
    this.sendStatus();
  }

  detach(): void {
    this.peer = null;
  }

  /** Sends a control message; false when there is no open link. */
  send(msg: OutMessage): boolean {
    if (!this.peer?.open) return false;
    return this.peer.send(msg);
  }

  /** Announces the client list now. */
  sendStatus(): void {
    if (this.statusTimer) {
      clearTimeout(this.statusTimer);
      this.statusTimer = null;
    }
    this.send({ v: 2, kind: 'combiner.status', clients: this.clients() });
  }

  /** Announces the client list soon (changes within 100 ms go in one message). */
  scheduleStatus(): void {
    if (this.statusTimer || this.closing) return;
    this.statusTimer = setTimeout(() => guard(this.log, 'status', () => this.sendStatus()), 100);
    this.statusTimer.unref();
  }

  /**
   * Encodes a partial aggregate and sends it as a `round.partial` and its chunks: a sync round's closing
   * partial, or an async stream's forwarded batch (`roundId` = the stream id). Rejects without a link. To the
   * embedded controller (a memory link) the frame is handed over whole: no chunks, copies or SHA-256.
   */
  async sendPartial(roundId: string, partial: PartialAggregate, tally: Tally, what: string): Promise<void> {
    const enc = await encodePartial(partial);
    const stats = tally.stats.summary();
    const uploadId = shortId('p');
    if (!this.peer?.open) throw fedError('UNAVAILABLE', `no controller link to ${what} to`);
    const peer = this.peer;
    const chunks = peer.handOver ? null : chunkFrame(enc.frame, uploadId);
    peer.send({
      v: 2,
      kind: 'round.partial',
      roundId,
      combinerId: this.combinerId,
      uploadId,
      count: enc.count,
      totalWeight: enc.totalWeight,
      metrics: tally.metrics.means(),
      scalars: enc.scalars,
      refusedStale: tally.refusedStale,
      refused: tally.refused,
      ...(chunks ? { sha256: sha256Node(enc.frame) } : {}),
      byteLength: enc.frame.byteLength,
      chunkCount: chunks ? chunks.length : 1,
      ...(tally.firstUpdateAt !== null ? { firstUpdateAt: tally.firstUpdateAt } : {}),
      ...(tally.lastUpdateAt !== null ? { lastUpdateAt: tally.lastUpdateAt } : {}),
      ...(stats ? { updateStats: stats } : {}),
    });
    if (chunks) await sendChunks(peer, chunks);
    else await peer.handOver?.(uploadId, enc.frame);
  }

  /** Keeps `send` (a partial on its way) until it settles, so that {@link ControllerLink.close} can wait for it. */
  track(send: Promise<void>): void {
    this.pendingSends.add(send);
    void send.finally(() => this.pendingSends.delete(send));
  }

  /** Stops the timers and waits (at most 2 s) for the partials on their way. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.keepaliveTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (this.pendingSends.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pendingSends]), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
  }
}
