/**
 * This combiner's part of an asynchronous session (strategy `mode: 'async'`, FedBuff: Nguyen et al., "Federated
 * Learning with Buffered Asynchronous Aggregation", AISTATS 2022, https://arxiv.org/abs/2106.06639). There is no
 * round barrier: every eligible client trains on the newest model version this combiner knows, and each batch
 * of `forwardEvery` folded updates is forwarded at once to the controller as a `round.partial` of the stream,
 * each update folded with its staleness = versions between its base model and the newest one known here.
 */
import { randomBytes } from 'node:crypto';
import { fedError, toFedError, type BlobRef, type FedError, type MessageOf } from '@fedweb/codec';
import { isEligible, type SelectionPolicy } from '../config.js';
import type { Logger } from '../log.js';
import type { PartialAggregate, Strategy, StrategyContext } from '../strategy/types.js';
import type { ClientConn } from './clients.js';
import { Tally, type Collector, type Refusal, type UpdateLimits } from './admission.js';
import { shortId } from './controller-link.js';

/**
 * Forwarded batches on their way to the controller at most. Past it a fold waits for them, keeping its fold slot
 * and its frame's charge on the in-flight budget, so a controller that falls behind (it stops reading the link:
 * its queue is bounded) slows the uploads down to the clients instead of piling partials up here.
 */
export const MAX_PENDING_FORWARDS = 4;

/** One training task of the stream: the client trains on the model of `round - 1`. */
interface AsyncTask {
  taskId: string;
  roundId: string;
  clientId: string;
  /** The version being built when the task was issued (its base model is version `round - 1`). */
  round: number;
  model: BlobRef;
  settings: MessageOf<'round.start'>['settings'];
  deadline: number;
}

/** What a stream needs from the rest of the combiner. */
export interface AsyncStreamDeps {
  log: Logger;
  client(clientId: string): ClientConn | undefined;
  joined(): Iterable<ClientConn>;
  /** Sends one forwarded batch (in order: forwards go out one after the other). */
  sendPartial(streamId: string, partial: PartialAggregate, tally: Tally): Promise<void>;
  track(send: Promise<void>): void;
  ended(stream: AsyncStream): void;
}

/** How a stream is opened or moved to a new version, from its `round.start`. */
export interface StreamVersion {
  start: MessageOf<'round.start'>;
  /** The version being built (the newest model is `round - 1`). */
  round: number;
  /** Folded updates in one forwarded partial (the wire's `round.start.quota` for an async stream). */
  forwardEvery: number;
  taskTimeoutMs: number;
}

/**
 * The open asynchronous stream (a {@link Collector} for admission; a collector per task id).
 * @example
 * ```ts
 * const stream = new AsyncStream({ strategy, options, ctx, limits, policy, maxStaleness: 4 }, version, deps);
 * stream.taskClients(version.start.clientIds);
 * ```
 */
export class AsyncStream implements Collector {
  readonly id: string;
  readonly limits: UpdateLimits;
  tally = new Tally();
  state: 'open' | 'closed' = 'open';
  private version: StreamVersion;
  private ctx: StrategyContext;
  /** The outstanding task of each client (a newer one supersedes it). */
  private readonly tasks = new Map<string, AsyncTask>();
  private readonly tasksById = new Map<string, AsyncTask>();
  /** Refused uploads per task (bounded by `maxUploadAttempts`). */
  private readonly attempts = new Map<string, number>();
  private readonly folding = new Set<string>();
  /** Clients that withdrew: tasked again only once they meet the selection policy (their heartbeats say so). */
  private readonly withdrawn = new Set<string>();
  /** Folded updates not forwarded yet. */
  private batch: PartialAggregate;
  /** Forwards go out one after the other. */
  private sending: Promise<void> = Promise.resolve();
  private pendingForwards = 0;

  constructor(
    private readonly setup: { strategy: Strategy<unknown, unknown>; options: unknown; ctx: StrategyContext; limits: UpdateLimits; policy: SelectionPolicy; maxStaleness: number },
    version: StreamVersion,
    private readonly deps: AsyncStreamDeps,
  ) {
    this.id = version.start.roundId;
    this.limits = setup.limits;
    this.version = version;
    this.ctx = setup.ctx;
    this.batch = setup.strategy.createPartial(setup.options, this.ctx);
    deps.log.info({ streamId: this.id, version: version.round - 1 }, 'async stream opened');
  }

  /** The version being built now (the newest model is `round - 1`). */
  get round(): number {
    return this.version.round;
  }

  /** Moves to a newer version (the controller published a model); an older one arriving late changes nothing. */
  advance(version: StreamVersion): boolean {
    if (version.round < this.version.round) return false;
    this.version = version;
    this.ctx = { ...this.ctx, round: version.round, seed: version.start.seed ?? this.ctx.seed };
    this.deps.log.info({ streamId: this.id, version: version.round - 1 }, 'async stream: new model version');
    return true;
  }

  /**
   * Every eligible client without work gets a task on the newest version; `named` clients (the controller's
   * `clientIds`) are tasked too: it may know of clients this combiner's policy copy would skip.
   */
  taskClients(named: readonly string[]): void {
    const names = new Set(named);
    for (const conn of this.deps.joined()) {
      const id = conn.clientId as string;
      const eligible = isEligible(conn.capabilities, this.setup.policy);
      if (this.withdrawn.has(id) && !eligible) continue;
      if (!this.tasks.has(id) && (names.has(id) || eligible)) this.sendNewTask(conn);
    }
  }

  /**
   * The client withdrew from its task `roundId`: the task ends (no update is waited for) and the client gets no new
   * one while it does not meet the selection policy. A typed error when `roundId` is not its open task.
   */
  withdraw(clientId: string, roundId: string): FedError | null {
    const task = this.tasks.get(clientId);
    if (this.state !== 'open' || !task || task.roundId !== roundId) return fedError('STALE_ROUND', `${roundId} is not an open task of ${clientId}`);
    if (this.folding.has(clientId)) return fedError('CONFLICT', `the update of ${clientId} for ${roundId} is being folded`);
    this.endTask(task);
    this.withdrawn.add(clientId);
    return null;
  }

  /** The task a (re)joining client still owes, if it is not too stale. */
  openTaskOf(clientId: string): string | undefined {
    const task = this.tasks.get(clientId);
    return task && !this.tooStale(task) ? task.roundId : undefined;
  }

  /** A client with no usable task gets one; one with an outstanding task gets the same task again. */
  taskIdle(conn: ClientConn): void {
    const task = this.tasks.get(conn.clientId as string);
    if (task && !this.tooStale(task)) return this.sendTask(conn, task);
    if (task || isEligible(conn.capabilities, this.setup.policy)) this.sendNewTask(conn);
  }

  /** True when `taskId` is a task of this stream (its updates are admitted here). */
  owns(taskId: string): boolean {
    return this.tasksById.has(taskId);
  }

  private tooStale(task: AsyncTask): boolean {
    return this.version.round - task.round > this.setup.maxStaleness;
  }

  private sendNewTask(conn: ClientConn): void {
    const clientId = conn.clientId as string;
    this.withdrawn.delete(clientId);
    const old = this.tasks.get(clientId);
    if (old) this.endTask(old);
    const v = this.version;
    const task: AsyncTask = {
      taskId: shortId('t'),
      // Unique per task (a client may cache a pending upload by round id); `.r<n>.` names the version built.
      roundId: `${v.start.sessionId}.r${v.round}.${randomBytes(4).toString('hex')}`,
      clientId,
      round: v.round,
      model: v.start.model,
      settings: v.start.settings,
      deadline: Date.now() + v.taskTimeoutMs,
    };
    this.tasks.set(clientId, task);
    this.tasksById.set(task.taskId, task);
    this.sendTask(conn, task);
  }

  private sendTask(conn: ClientConn, task: AsyncTask): void {
    conn.peer.send({
      v: 2,
      kind: 'task.train',
      taskId: task.taskId,
      sessionId: this.version.start.sessionId,
      roundId: task.roundId,
      model: task.model,
      package: this.version.start.package,
      settings: task.settings,
      deadline: task.deadline,
    });
  }

  private endTask(task: AsyncTask): void {
    if (this.tasks.get(task.clientId) === task) this.tasks.delete(task.clientId);
    this.tasksById.delete(task.taskId);
    this.attempts.delete(task.taskId);
  }

  private taskOf(msg: MessageOf<'update'>): AsyncTask | undefined {
    return this.tasksById.get(msg.taskId);
  }

  // ------------------------------------------------------------------ admission (see admission.ts)

  checkSender(clientId: string, msg: MessageOf<'update'>): Refusal | null {
    if (this.taskOf(msg)?.clientId === clientId) return null;
    return { err: fedError('NOT_SELECTED', `task ${msg.taskId} belongs to another client`), tally: 'refused' };
  }

  checkOpen(_clientId: string, msg: MessageOf<'update'>): Refusal | null {
    if (this.state === 'open' && this.taskOf(msg)) return null;
    return { err: fedError('STALE_ROUND', `task ${msg.taskId} is closed`) };
  }

  checkDuplicate(clientId: string): Refusal | null {
    return this.folding.has(clientId) ? { err: fedError('DUPLICATE_UPDATE', `an update of ${clientId} is being folded`) } : null;
  }

  /** Staleness is checked when the update is announced and again when it is folded (versions may be published meanwhile). */
  checkStaleness(clientId: string, msg: MessageOf<'update'>, conn: ClientConn): Refusal | null {
    const task = this.taskOf(msg);
    return task && this.tooStale(task) ? this.staleRefusal(clientId, msg, conn) : null;
  }

  /** The task was trained on a model more than `maxStaleness` versions old: refused, and a fresh task goes out. */
  staleRefusal(_clientId: string, msg: MessageOf<'update'>, conn: ClientConn): Refusal | null {
    const task = this.taskOf(msg);
    if (!task) return null;
    this.endTask(task);
    const staleness = this.version.round - task.round;
    const max = this.setup.maxStaleness;
    this.deps.log.info({ clientId: task.clientId, staleness, maxStaleness: max }, 'stale async update refused');
    return {
      err: fedError('STALE_ROUND', `update is ${staleness} model versions old (maxStaleness ${max}); train on the current model`),
      tally: 'refusedStale',
      followUp: () => {
        if (this.deps.client(task.clientId) === conn && !conn.closed) this.sendNewTask(conn);
      },
    };
  }

  countAttempt(_clientId: string, msg: MessageOf<'update'>): number {
    const n = (this.attempts.get(msg.taskId) ?? 0) + 1;
    if (this.taskOf(msg)) this.attempts.set(msg.taskId, n);
    return n;
  }

  /** The task ends; the client gets work again with the next model version. */
  exclude(conn: ClientConn, _clientId: string, msg: MessageOf<'update'>, err: FedError): void {
    const task = this.taskOf(msg);
    if (!task) return;
    this.endTask(task);
    conn.peer.send({ v: 2, kind: 'task.cancel', taskId: task.taskId, roundId: task.roundId, reason: `update refused (${err.code}); a new task comes with the next model version` });
  }

  beginFold(clientId: string): void {
    this.folding.add(clientId);
  }

  endFold(clientId: string): void {
    this.folding.delete(clientId);
  }

  async fold(clientId: string, msg: MessageOf<'update'>, frame: Uint8Array): Promise<Refusal | null> {
    const { strategy, options } = this.setup;
    if (this.pendingForwards >= MAX_PENDING_FORWARDS) await this.sending;
    const task = this.taskOf(msg);
    const staleness = task ? this.version.round - task.round : 0;
    // Each update is folded into its own partial, then merged: a forward may swap the batch while a fold runs.
    const one = strategy.createPartial(options, this.ctx);
    await strategy.foldUpdate(options, one, { clientId, frame, numExamples: msg.numExamples, staleness }, this.limits.tools, this.ctx);
    if (this.state !== 'open') return { err: fedError('STALE_ROUND', 'the asynchronous session ended before the update was folded') };
    this.batch = this.batch.count === 0 ? one : strategy.mergePartials(options, this.batch, one, this.ctx);
    return null;
  }

  /** Counted: the batch is forwarded once full, and the client trains on (the next task, on the newest version). */
  accepted(conn: ClientConn, clientId: string, msg: MessageOf<'update'>): void {
    const task = this.taskOf(msg);
    if (task) this.endTask(task);
    if (this.batch.count >= this.version.forwardEvery) this.forwardBatch();
    if (this.deps.client(clientId) === conn && !conn.closed) this.sendNewTask(conn);
  }

  /** Sends the folded batch to the controller now (a `round.partial` of the stream) and starts a new one. */
  private forwardBatch(): void {
    const batch = this.batch;
    const tally = this.tally;
    this.batch = this.setup.strategy.createPartial(this.setup.options, this.ctx);
    this.tally = new Tally();
    this.pendingForwards += 1;
    const p = this.sending
      .then(() => this.deps.sendPartial(this.id, batch, tally))
      .catch((e: unknown) => this.deps.log.error({ streamId: this.id, err: toFedError(e).message }, 'forwarding async updates failed'))
      .finally(() => (this.pendingForwards -= 1));
    this.sending = p;
    this.deps.track(p);
  }

  /** Ends the stream: every outstanding task is cancelled. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.deps.ended(this);
    this.deps.log.info({ streamId: this.id, reason }, 'async stream closed');
    for (const task of this.tasks.values()) {
      this.deps.client(task.clientId)?.peer.send({ v: 2, kind: 'task.cancel', taskId: task.taskId, roundId: task.roundId, reason: `session ended: ${reason}`.slice(0, 500) });
    }
    this.tasks.clear();
    this.tasksById.clear();
  }
}
