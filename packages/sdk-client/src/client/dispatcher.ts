/**
 * The task queue: tasks run one at a time (there is one trainer), in the order they arrived; a re-sent task for a
 * round in progress joins the work under way; `task.cancel` and `stop()` abort a task through its signal.
 */
import { PROTOCOL_VERSION, fedError, toFedError, type FedError, type MessageOf } from '@fedweb/codec';
import { linkedController } from './abort.js';
import type { ClientContext } from './context.js';

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
  #queue: Promise<void> = Promise.resolve();
  readonly #active = new Map<string, ActiveTask>();

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
   * Queues a train task, unless one for the same round is under way: the server re-sent it (e.g. after a reconnect),
   * so the work in progress continues and answers under the new task id.
   */
  train(task: MessageOf<'task.train'>, stop: AbortSignal, run: (signal: AbortSignal, active: ActiveTask) => Promise<void>): void {
    const same = [...this.#active.values()].find((t) => t.kind === 'train' && t.roundId === task.roundId);
    if (same) {
      same.taskId = task.taskId;
      return;
    }
    this.#enqueue({ kind: 'train', taskId: task.taskId, roundId: task.roundId }, stop, run);
  }

  /** Queues a validate task. */
  validate(task: MessageOf<'task.validate'>, stop: AbortSignal, run: (signal: AbortSignal) => Promise<void>): void {
    this.#enqueue({ kind: 'validate', taskId: task.taskId, roundId: task.roundId }, stop, run);
  }

  /** The server cancelled a task (or every task of a round): abort it, and forget the round's cached train task. */
  cancel(m: MessageOf<'task.cancel'>): void {
    const reason = fedError('ABORTED', `the server cancelled task ${m.taskId}: ${m.reason}`);
    for (const t of this.#active.values()) {
      if (t.taskId === m.taskId || t.roundId === m.roundId) {
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

  /** Runs tasks one at a time; a task's controller aborts on stop() or task.cancel. */
  #enqueue(info: Omit<ActiveTask, 'ctl'>, stop: AbortSignal, run: (signal: AbortSignal, active: ActiveTask) => Promise<void>): void {
    const key = `${info.kind}:${info.roundId}:${info.taskId}`;
    if (this.#active.has(key)) return;
    const active: ActiveTask = { ...info, ctl: linkedController(stop) };
    this.#active.set(key, active);
    this.#queue = this.#queue.then(async () => {
      try {
        if (active.ctl.signal.aborted) return;
        await run(active.ctl.signal, active);
      } catch (e) {
        const err = toFedError(e);
        if (!(err.code === 'ABORTED' && stop.aborted)) this.#failed(active, err);
      } finally {
        active.ctl.dispose();
        this.#active.delete(key);
        this.hooks.settled();
      }
    });
  }

  /** A task ended with an error that is not a stop (a stop keeps the task for a resume after reload): it is over. */
  #failed(active: ActiveTask, err: FedError): void {
    const { reporter } = this.ctx;
    if (active.kind === 'train') void this.ctx.cache()?.deletePendingTask(this.ctx.clientId(), active.roundId).catch(() => {});
    reporter.error(err);
    reporter.emit('round', { roundId: active.roundId, taskId: active.taskId, task: active.kind, phase: err.code === 'ABORTED' ? 'cancelled' : 'failed', error: err });
    // Tell the combiner why the task will not be answered, so it need not wait for the deadline.
    if (err.code === 'ABORTED') return;
    try {
      const conn = this.ctx.connection();
      if (conn?.isOpen) conn.send({ v: PROTOCOL_VERSION, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: active.taskId });
    } catch {
      // The connection just went away; the combiner will time the task out.
    }
  }
}
