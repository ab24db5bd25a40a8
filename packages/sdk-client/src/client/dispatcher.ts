/**
 * The task queue: tasks run one at a time (there is one trainer), in the order they arrived, and the queue is
 * bounded whatever the server sends: at most one train task per round (a re-sent task for a round under way joins
 * the work, one for a round already acknowledged is answered from what was acknowledged), a newer round's train
 * task supersedes an older one still waiting, at most `limits.queuedTasks` tasks wait, and at most
 * `limits.validationsPerRound` distinct models are validated per round. Every task refused or dropped here is
 * reported to the combiner at once (an `error` naming the task), so it frees the slot instead of waiting for the
 * deadline. `task.cancel` and `stop()` abort a task through its signal.
 */
import { PROTOCOL_VERSION, fedError, toFedError, type FedError, type MessageOf } from '@fedweb/codec';
import { linkedController } from './abort.js';
import type { ClientContext } from './context.js';

/** Rounds whose validated models are remembered for `limits.validationsPerRound`. */
const MAX_VALIDATED_ROUNDS = 64;

/**
 * A task queued or running. `taskId` may change while it runs: the server re-sent the task under a new id.
 * @example
 * ```ts
 * const t: ActiveTask = { kind: 'train', taskId: 't-1', roundId: 'r-1', ctl: linkedController(stop) };
 * ```
 */
export interface ActiveTask {
  kind: 'train' | 'validate';
  taskId: string;
  roundId: string;
  ctl: AbortController & { dispose(): void };
  /** True once it left the queue and runs. */
  started?: boolean;
}

/**
 * What the dispatcher tells its owner.
 * @example
 * ```ts
 * const hooks: DispatcherHooks = { settled: () => maybeIdle() };
 * ```
 */
export interface DispatcherHooks {
  /** A task ended (done, failed, cancelled). */
  settled(): void;
}

/**
 * Runs the client's tasks one after the other.
 * @example
 * ```ts
 * const dispatcher = new Dispatcher(ctx, { settled });
 * dispatcher.train(task, stopSignal, (signal, active) => runTrain(task, signal, active));
 * ```
 */
export class Dispatcher {
  /** Settles once the tasks queued so far have ended. */
  #queue: Promise<void> = Promise.resolve();
  #pumping = false;
  /** Tasks waiting behind the running one, in arrival order (at most `limits.queuedTasks`). */
  readonly #waiting: { key: string; active: ActiveTask; stop: AbortSignal; run: (signal: AbortSignal, active: ActiveTask) => Promise<void> }[] = [];
  /** Every task queued or running, by `kind:roundId:taskId`. */
  readonly #active = new Map<string, ActiveTask>();
  /** Per round, the models (SHA-256) validated or queued for validation. */
  readonly #validated = new Map<string, Set<string>>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly hooks: DispatcherHooks,
  ) {}

  /** True while no task is queued or running. */
  get idle(): boolean {
    return this.#active.size === 0;
  }

  /** Resolves once every task queued so far has ended. */
  drained(): Promise<void> {
    return this.#queue;
  }

  /** True while a train task for `roundId` is queued or running. */
  isTraining(roundId: string): boolean {
    return [...this.#active.values()].some((t) => t.kind === 'train' && t.roundId === roundId);
  }

  /**
   * Queues a train task, unless one for the same round is under way (the server re-sent it, e.g. after a
   * reconnect: the work in progress continues and answers under the new task id) or the round's update was
   * acknowledged already (answered with `DUPLICATE_UPDATE`, not trained again). A train task of an older round
   * still waiting is superseded; a full queue refuses the task.
   */
  train(task: MessageOf<'task.train'>, stop: AbortSignal, run: (signal: AbortSignal, active: ActiveTask) => Promise<void>): void {
    const info = { kind: 'train' as const, taskId: task.taskId, roundId: task.roundId };
    const same = [...this.#active.values()].find((t) => t.kind === 'train' && t.roundId === task.roundId);
    if (same) {
      same.taskId = task.taskId;
      return;
    }
    const acked = this.ctx.acknowledged.get(task.roundId);
    if (acked) {
      const err = fedError('DUPLICATE_UPDATE', `the update of round ${task.roundId} (upload ${acked.uploadId}) was acknowledged already; not training it again`);
      this.#tell(info.taskId, err);
      this.ctx.reporter.emit('round', { ...info, sessionId: task.sessionId, task: 'train', phase: 'acknowledged' });
      return;
    }
    for (const t of this.#active.values()) {
      if (t.kind !== 'train' || t.started || t.ctl.signal.aborted) continue;
      this.#drop(t, fedError('STALE_ROUND', `train task ${t.taskId} of round ${t.roundId} was superseded by round ${task.roundId} before it started`));
    }
    this.#enqueue(info, stop, run);
  }

  /** Queues a validate task, unless the round validated its quota of distinct models already. */
  validate(task: MessageOf<'task.validate'>, stop: AbortSignal, run: (signal: AbortSignal) => Promise<void>): void {
    const info = { kind: 'validate' as const, taskId: task.taskId, roundId: task.roundId };
    const models = this.#validated.get(task.roundId) ?? new Set<string>();
    if (!models.has(task.model.sha256) && models.size >= this.ctx.limits.validationsPerRound) {
      const err = fedError('CONFLICT', `round ${task.roundId} validated ${models.size} model(s) already (limits.validationsPerRound); validation task ${task.taskId} refused`);
      return this.#refuse(info, err);
    }
    if (this.#enqueue(info, stop, run)) {
      models.add(task.model.sha256);
      this.#validated.delete(task.roundId);
      this.#validated.set(task.roundId, models);
      while (this.#validated.size > MAX_VALIDATED_ROUNDS) this.#validated.delete(this.#validated.keys().next().value as string);
    }
  }

  /** The server cancelled a task (or every task of a round): abort it, and forget the round's cached train task. */
  cancel(m: MessageOf<'task.cancel'>): void {
    const reason = fedError('ABORTED', `the server cancelled task ${m.taskId}: ${m.reason}`);
    for (const t of this.#active.values()) {
      if ((t.taskId === m.taskId || t.roundId === m.roundId) && !t.ctl.signal.aborted) {
        t.ctl.abort(reason);
        this.ctx.reporter.emit('round', { roundId: t.roundId, taskId: t.taskId, task: t.kind, phase: 'cancelled', error: reason });
      }
    }
    void this.ctx.cache()?.deletePendingTask(this.ctx.clientId(), m.roundId).catch(() => {});
  }

  /** Aborts every queued and running task (stop, or a fatal refusal). */
  abortAll(reason: FedError): void {
    for (const t of this.#active.values()) t.ctl.abort(reason);
  }

  /**
   * Runs tasks one at a time; a task's controller aborts on stop(), task.cancel or when superseded. Returns false
   * when the task was refused (the queue is full) or is queued already.
   */
  #enqueue(info: Omit<ActiveTask, 'ctl'>, stop: AbortSignal, run: (signal: AbortSignal, active: ActiveTask) => Promise<void>): boolean {
    const key = `${info.kind}:${info.roundId}:${info.taskId}`;
    if (this.#active.has(key)) return false;
    const waiting = this.#waiting.length;
    if (waiting >= this.ctx.limits.queuedTasks) {
      this.#refuse(info, fedError('UNAVAILABLE', `${waiting} tasks wait already (limits.queuedTasks); ${info.kind} task ${info.taskId} of round ${info.roundId} refused`));
      return false;
    }
    const active: ActiveTask = { ...info, ctl: linkedController(stop) };
    this.#active.set(key, active);
    this.#waiting.push({ key, active, stop, run });
    if (!this.#pumping) this.#queue = this.#pump();
    return true;
  }

  /** Runs the waiting tasks one after the other until none is left. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (let next = this.#waiting.shift(); next; next = this.#waiting.shift()) {
        const { key, active, stop, run } = next;
        try {
          if (active.ctl.signal.aborted) continue;
          active.started = true;
          await run(active.ctl.signal, active);
        } catch (e) {
          const err = toFedError(e);
          if (!(err.code === 'ABORTED' && stop.aborted)) this.#failed(active, err);
        } finally {
          active.ctl.dispose();
          this.#active.delete(key);
          this.hooks.settled();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Drops a waiting task (superseded): aborted before it starts, reported as cancelled, and the combiner told. */
  #drop(t: ActiveTask, err: FedError): void {
    t.ctl.abort(err);
    const i = this.#waiting.findIndex((w) => w.active === t);
    if (i >= 0) {
      const [w] = this.#waiting.splice(i, 1);
      t.ctl.dispose();
      this.#active.delete(w!.key);
    }
    this.ctx.reporter.emit('round', { roundId: t.roundId, taskId: t.taskId, task: t.kind, phase: 'cancelled', error: err });
    this.#tell(t.taskId, err);
  }

  /** A task refused on arrival: reported as failed, and the combiner told at once. */
  #refuse(info: Omit<ActiveTask, 'ctl'>, err: FedError): void {
    this.ctx.reporter.error(err);
    this.ctx.reporter.emit('round', { roundId: info.roundId, taskId: info.taskId, task: info.kind, phase: 'failed', error: err });
    this.#tell(info.taskId, err);
  }

  /** Tells the combiner why task `taskId` will not be answered, so it need not wait for the deadline. */
  #tell(taskId: string, err: FedError): void {
    try {
      const conn = this.ctx.connection();
      if (conn?.isOpen) conn.send({ v: PROTOCOL_VERSION, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: taskId });
    } catch {
      // The connection just went away; the combiner will time the task out.
    }
  }

  /**
   * A task ended with an error that is not a stop (a stop keeps the task for a resume after reload): it is over.
   * A task aborted by task.cancel or superseded was reported when that happened.
   */
  #failed(active: ActiveTask, err: FedError): void {
    const { reporter } = this.ctx;
    if (active.kind === 'train') void this.ctx.cache()?.deletePendingTask(this.ctx.clientId(), active.roundId).catch(() => {});
    if (err.code === 'ABORTED' || active.ctl.signal.aborted) return;
    reporter.error(err);
    reporter.emit('round', { roundId: active.roundId, taskId: active.taskId, task: active.kind, phase: 'failed', error: err });
    this.#tell(active.taskId, err);
  }
}
