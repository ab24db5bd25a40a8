/**
 * This combiner's part of one synchronous round: the selected clients get a training task, each admitted update
 * is folded into one running weighted sum (memory does not grow with the number of clients), and the part
 * closes, sending its partial aggregate to the controller, when `updatesWanted` updates are in, when every
 * selected client delivered, failed, withdrew or left (after its reconnect grace), when fewer than `minUpdates` can
 * still arrive (the validity policy needs them), or at the deadline. A late update
 * for a closed round is refused, never folded into the next one. This is the combiner's side of a FEDn
 * training round (https://docs.scaleoutsystems.com/en/stable/architecture.html).
 */
import { fedError, toFedError, type FedError, type MessageOf } from '@fedweb/codec';
import type { Logger } from '../log.js';
import type { PartialAggregate, Strategy, StrategyContext } from '../strategy/types.js';
import { guard } from '../transport.js';
import { Tally, type Collector, type Refusal, type UpdateLimits } from './admission.js';
import type { ClientConn } from './clients.js';
import { shortId } from './controller-link.js';

/** What a round part needs from the rest of the combiner. */
export interface RoundPartDeps {
  log: Logger;
  maxUploadAttempts: number;
  reconnectGraceMs: number;
  /** The joined client with this id, if connected. */
  client(clientId: string): ClientConn | undefined;
  /** True once the combiner is shutting down (no reconnect grace then). */
  closing(): boolean;
  /** Sends the closing partial to the controller. */
  sendPartial(roundId: string, partial: PartialAggregate, tally: Tally): Promise<void>;
  /** Keeps a send on its way (shutdown waits for it). */
  track(send: Promise<void>): void;
  /** The part closed or was aborted: it is no longer the open one. */
  ended(part: RoundPart): void;
}

/** How a round part is set up from its `round.start`. */
export interface RoundPartSetup {
  start: MessageOf<'round.start'>;
  strategy: Strategy<unknown, unknown>;
  options: unknown;
  ctx: StrategyContext;
  limits: UpdateLimits;
  /** Updates after which the part closes (the wire's `round.start.quota`, at most the selected clients). */
  updatesWanted: number;
}

/**
 * One synchronous round part (a {@link Collector} for admission).
 * @example
 * ```ts
 * const part = new RoundPart(setup, deps);
 * part.open(); // sends the tasks to the connected selected clients, starts the deadline
 * ```
 */
export class RoundPart implements Collector {
  readonly id: string;
  readonly limits: UpdateLimits;
  readonly tally = new Tally();
  readonly updatesWanted: number;
  state: 'collecting' | 'closing' | 'closed' = 'collecting';
  private readonly start: MessageOf<'round.start'>;
  private readonly partial: PartialAggregate;
  private readonly selected: Set<string>;
  private readonly taskIds: Map<string, string>;
  private readonly delivered = new Set<string>();
  private readonly folding = new Set<string>();
  private readonly failed = new Set<string>();
  /** Selected clients that withdrew (`withdraw`): out of this round for good, even if they reconnect. */
  private readonly withdrawn = new Set<string>();
  /** Refused uploads per client this round (bounded by `maxUploadAttempts`; survives reconnects). */
  private readonly badUploads = new Map<string, number>();
  /** Selected clients that disconnected and may still come back: clientId -> grace timer. */
  private readonly away = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private readonly drained: Array<() => void> = [];

  constructor(
    private readonly setup: RoundPartSetup,
    private readonly deps: RoundPartDeps,
  ) {
    const msg = setup.start;
    this.id = msg.roundId;
    this.start = msg;
    this.limits = setup.limits;
    this.updatesWanted = setup.updatesWanted;
    this.partial = setup.strategy.createPartial(setup.options, setup.ctx);
    this.selected = new Set(msg.clientIds);
    this.taskIds = new Map(msg.clientIds.map((id) => [id, shortId('t')]));
  }

  /** Starts the deadline and sends the task to every selected client connected now. */
  open(): void {
    const wait = Math.max(0, this.start.deadline - Date.now());
    this.timer = setTimeout(() => guard(this.deps.log, 'round deadline', () => this.close('deadline')), wait);
    this.timer.unref();
    this.deps.log.info({ roundId: this.id, selected: this.selected.size, updatesWanted: this.updatesWanted }, 'round part started');
    for (const id of this.start.clientIds) {
      const conn = this.deps.client(id);
      if (conn) this.sendTask(conn);
    }
    this.maybeClose();
  }

  /** The task a (re)joining client still owes, if any. */
  openTaskOf(clientId: string): string | undefined {
    return this.owes(clientId) ? this.id : undefined;
  }

  /** This part's round id when it has counted an update of `clientId` (a rejoining client may have lost its ack). */
  countedRoundOf(clientId: string): string | undefined {
    return this.delivered.has(clientId) ? this.id : undefined;
  }

  /** A client (re)joined: its grace ends, and it gets its task again if it still owes an update. */
  rejoined(conn: ClientConn): void {
    const clientId = conn.clientId as string;
    const owes = this.owes(clientId);
    this.endGrace(clientId);
    if (!owes) return;
    this.failed.delete(clientId);
    this.sendTask(conn);
  }

  /** A selected client left: wait for it only during the reconnect grace. */
  left(clientId: string): void {
    this.startGrace(clientId);
    this.maybeClose();
  }

  /** The client reported that it gave up on task `taskId` (e.g. BACKEND_UNAVAILABLE): do not wait for it. */
  gaveUp(clientId: string, taskId: string): void {
    if (this.taskIds.get(clientId) !== taskId) return;
    this.failed.add(clientId);
    this.maybeClose();
  }

  /**
   * The client withdrew (`withdraw`: battery, connection, visibility, its user): its slot is freed at once and the
   * part closes on the usual rule (every other selected client delivered, failed or left) instead of at the
   * deadline. A typed error, and nothing released, when it is not in this round (not selected, withdrew already,
   * or its update is counted or being folded).
   */
  withdraw(clientId: string): FedError | null {
    if (this.state !== 'collecting') return fedError('STALE_ROUND', `round ${this.id} is closed`);
    if (!this.selected.has(clientId)) return fedError('NOT_SELECTED', `client ${clientId} was not selected for round ${this.id}`);
    if (this.withdrawn.has(clientId)) return fedError('CONFLICT', `client ${clientId} withdrew from round ${this.id} already`);
    if (this.delivered.has(clientId) || this.folding.has(clientId)) return fedError('CONFLICT', `the update of ${clientId} for round ${this.id} is counted already`);
    this.withdrawn.add(clientId);
    this.failed.add(clientId);
    this.endGrace(clientId);
    this.maybeClose();
    return null;
  }

  private owes(clientId: string): boolean {
    return this.state === 'collecting' && this.selected.has(clientId) && !this.delivered.has(clientId) && !this.withdrawn.has(clientId) && !this.outOfAttempts(clientId);
  }

  private outOfAttempts(clientId: string): boolean {
    return (this.badUploads.get(clientId) ?? 0) >= this.deps.maxUploadAttempts;
  }

  private sendTask(conn: ClientConn): void {
    const clientId = conn.clientId as string;
    const start = this.start;
    conn.peer.send({
      v: 2,
      kind: 'task.train',
      taskId: this.taskIds.get(clientId) as string,
      sessionId: start.sessionId,
      roundId: this.id,
      model: start.model,
      ...(start.download ? { download: start.download } : {}),
      package: start.package,
      settings: start.settings,
      deadline: start.deadline,
    });
  }

  // ------------------------------------------------------------------ admission (see admission.ts)

  checkSender(clientId: string, msg: MessageOf<'update'>): Refusal | null {
    if (this.id !== msg.roundId || this.state !== 'collecting') {
      this.deps.log.info({ clientId, roundId: msg.roundId }, 'stale update refused');
      return { err: fedError('STALE_ROUND', `round ${msg.roundId} is closed or unknown`), ...(this.state === 'collecting' ? { tally: 'refusedStale' } : {}) };
    }
    if (!this.selected.has(clientId)) return { err: fedError('NOT_SELECTED', `client ${clientId} was not selected for round ${msg.roundId}`), tally: 'refused' };
    if (this.withdrawn.has(clientId)) return { err: fedError('NOT_SELECTED', `client ${clientId} withdrew from round ${msg.roundId}`), tally: 'refused' };
    if (this.outOfAttempts(clientId)) {
      const why = `client ${clientId} used its ${this.deps.maxUploadAttempts} upload attempts for round ${msg.roundId}; it is out of this round`;
      return { err: fedError('NOT_SELECTED', why), tally: 'refused' };
    }
    if (this.taskIds.get(clientId) !== msg.taskId) {
      return { err: fedError('STALE_ROUND', `task ${msg.taskId} is not this client's task for round ${msg.roundId}`), tally: 'refusedStale' };
    }
    return null;
  }

  checkOpen(clientId: string, msg: MessageOf<'update'>): Refusal | null {
    if (this.withdrawn.has(clientId)) return { err: fedError('NOT_SELECTED', `client ${clientId} withdrew from round ${msg.roundId}`), tally: 'refused' };
    if (this.id === msg.roundId && this.state === 'collecting') return null;
    return { err: fedError('STALE_ROUND', `round ${msg.roundId} closed before the upload completed`), ...(this.state !== 'closed' ? { tally: 'refusedStale' } : {}) };
  }

  checkDuplicate(clientId: string, msg: MessageOf<'update'>): Refusal | null {
    if (!this.delivered.has(clientId) && !this.folding.has(clientId)) return null;
    return { err: fedError('DUPLICATE_UPDATE', `an update of ${clientId} for round ${msg.roundId} was already counted`) };
  }

  /** A sync update is stale when its round is not this one (see {@link RoundPart.checkSender}). */
  checkStaleness(): Refusal | null {
    return null;
  }

  staleRefusal(): Refusal | null {
    return null;
  }

  countAttempt(clientId: string): number {
    const attempts = (this.badUploads.get(clientId) ?? 0) + 1;
    this.badUploads.set(clientId, attempts);
    return attempts;
  }

  /**
   * The client is out of the round (a non-retryable refusal, or its attempts are used up: then it is told with
   * `task.cancel`), so the part can close on the usual rule instead of waiting on it.
   */
  exclude(conn: ClientConn, clientId: string, _msg: MessageOf<'update'>, err: FedError, attempts: number): void {
    this.failed.add(clientId);
    if (err.retryable) {
      this.deps.log.warn({ clientId, roundId: this.id, attempts }, 'client used its upload attempts; it is out of this round');
      conn.peer.send({
        v: 2,
        kind: 'task.cancel',
        taskId: this.taskIds.get(clientId) as string,
        roundId: this.id,
        reason: `${attempts} refused uploads (the limit is ${this.deps.maxUploadAttempts} per round)`,
      });
    }
    this.maybeClose();
  }

  beginFold(clientId: string): void {
    this.folding.add(clientId);
    this.inflight += 1;
  }

  endFold(clientId: string): void {
    this.folding.delete(clientId);
    // It left while its update was folding and the fold was refused (retryable): it may come back and resend.
    if (!this.deps.client(clientId)) this.startGrace(clientId);
    this.inflight -= 1;
    if (this.inflight === 0) for (const resolve of this.drained.splice(0)) resolve();
    this.maybeClose();
  }

  async fold(clientId: string, msg: MessageOf<'update'>, frame: Uint8Array): Promise<Refusal | null> {
    const { strategy, options, ctx } = this.setup;
    await strategy.foldUpdate(options, this.partial, { clientId, frame, numExamples: msg.numExamples, staleness: 0 }, this.limits.tools, ctx);
    return null;
  }

  accepted(_conn: ClientConn, clientId: string): void {
    this.delivered.add(clientId);
  }

  // ------------------------------------------------------------------ closing

  /**
   * Closes the part when `updatesWanted` updates are in, when fewer than `round.start.minUpdates` can still arrive,
   * or when every selected client delivered, failed, withdrew or left (and its reconnect grace ran out).
   */
  private maybeClose(): void {
    if (this.state !== 'collecting') return;
    if (this.delivered.size >= this.updatesWanted) return this.close('updates wanted are in');
    if (this.start.minUpdates !== undefined && this.updatesPossible() < this.start.minUpdates) return this.close('too few clients left to make the round valid');
    for (const id of this.selected) {
      if (this.delivered.has(id) || this.failed.has(id)) continue;
      if (this.folding.has(id) || this.away.has(id)) return;
      const conn = this.deps.client(id);
      if (conn && !conn.closed) return;
    }
    this.close('all selected clients done or gone');
  }

  /** Updates this part can still count: delivered, being folded, or due from a client not out of the round. */
  private updatesPossible(): number {
    let n = this.delivered.size;
    for (const id of this.selected) if (!this.delivered.has(id) && !this.failed.has(id)) n += 1;
    return n;
  }

  /** A selected client that still owes an update disconnected: keep its slot for the reconnect grace. */
  private startGrace(clientId: string): void {
    if (this.state !== 'collecting' || this.deps.reconnectGraceMs === 0 || this.deps.closing()) return;
    if (!this.selected.has(clientId) || this.delivered.has(clientId) || this.failed.has(clientId) || this.folding.has(clientId)) return;
    this.endGrace(clientId);
    // The round's own deadline timer closes the part anyway, so the grace never outlives the round.
    const timer = setTimeout(
      () =>
        guard(this.deps.log, 'reconnect grace', () => {
          if (this.away.get(clientId) !== timer) return;
          this.away.delete(clientId);
          this.deps.log.info({ clientId, roundId: this.id }, 'client did not come back within the reconnect grace');
          this.maybeClose();
        }),
      this.deps.reconnectGraceMs,
    );
    timer.unref();
    this.away.set(clientId, timer);
  }

  private endGrace(clientId: string): void {
    const timer = this.away.get(clientId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.away.delete(clientId);
  }

  private clearGraces(): void {
    for (const timer of this.away.values()) clearTimeout(timer);
    this.away.clear();
  }

  /** Closes the part: folds already under way finish, then the partial goes to the controller. */
  close(reason: string): void {
    if (this.state !== 'collecting') return;
    this.state = 'closing';
    if (this.timer) clearTimeout(this.timer);
    this.clearGraces();
    this.cancelOutstanding(`round closed (${reason})`);
    this.deps.track(this.finish(reason).catch((e: unknown) => this.deps.log.error({ roundId: this.id, err: toFedError(e).message }, 'sending the partial failed')));
  }

  private async finish(reason: string): Promise<void> {
    // Updates whose last chunk arrived before the close are folded; nothing new starts after it.
    if (this.inflight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.state = 'closed';
    this.deps.ended(this);
    this.deps.log.info({ roundId: this.id, count: this.partial.count, weight: this.partial.weight, reason }, 'round part closed');
    await this.deps.sendPartial(this.id, this.partial, this.tally);
  }

  /** Drops the part without a partial (the controller moved on, the link dropped, shutdown). */
  abort(reason: string): void {
    if (this.state === 'closed') return;
    this.deps.log.warn({ roundId: this.id, reason }, 'round part aborted');
    if (this.timer) clearTimeout(this.timer);
    this.clearGraces();
    if (this.state === 'collecting') this.cancelOutstanding(`round aborted: ${reason}`);
    this.state = 'closed';
    this.deps.ended(this);
  }

  private cancelOutstanding(reason: string): void {
    for (const id of this.selected) {
      if (this.delivered.has(id) || this.folding.has(id) || this.withdrawn.has(id)) continue;
      this.deps.client(id)?.peer.send({ v: 2, kind: 'task.cancel', taskId: this.taskIds.get(id) as string, roundId: this.id, reason: reason.slice(0, 500) });
    }
  }
}
