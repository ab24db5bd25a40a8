/**
 * Graceful withdrawal (issue 16.5). While a train task downloads and trains, the client watches the session's
 * device conditions (`task.train` `settings.conditions`: battery, metered connection, page visibility). The moment
 * fresh capabilities break one (a heartbeat, or a battery, connection or visibility event), or the page calls
 * `client.withdraw()`, it sends `withdraw` (reason, round, the capabilities it read), emits `withdrawn`, and aborts
 * the task: the abort reaches the trainer in its worker or thread. The combiner frees the slot at once and does not
 * pick the client again while its capabilities break the policy. An update already trained is still uploaded: the
 * work is done, and the round waits for it.
 */
import { PROTOCOL_VERSION, conditionBreach, fedError, hasConditions, type Capabilities, type MessageOf, type WithdrawReason } from '@fedweb/codec';
import { linkedController } from './abort.js';
import type { ClientContext } from './context.js';

/**
 * A train task under watch: `signal` aborts when the client withdraws from it; `dispose()` ends the watch (before
 * the upload, and in `finally`).
 * @example
 * ```ts
 * const watch = await withdrawal.watch(task, () => active.taskId, signal);
 * try { await train(watch.signal); } finally { watch.dispose(); }
 * ```
 */
export interface WithdrawWatch {
  signal: AbortSignal;
  dispose(): void;
}

interface Watched {
  task: MessageOf<'task.train'>;
  /** The task id may change while it runs (the server re-sent the task). */
  taskId: () => string;
  ctl: AbortController & { dispose(): void };
}

/**
 * Watches the running train tasks and withdraws from them.
 * @example
 * ```ts
 * const withdrawal = new Withdrawal(ctx, () => session.capabilities());
 * session hooks: onCapabilities: (caps) => withdrawal.observe(caps)
 * ```
 */
/** Rounds the user left that are remembered, so a task re-sent for one (after a reconnect) is left again. */
const MAX_LEFT_ROUNDS = 64;

export class Withdrawal {
  readonly #watched = new Set<Watched>();
  /** Rounds left with `withdraw()`, newest last. */
  readonly #left: string[] = [];

  constructor(
    private readonly ctx: ClientContext,
    private readonly readCapabilities: () => Promise<Capabilities>,
  ) {}

  /**
   * Watches `task` until `dispose()`. A task whose conditions the device breaks already is withdrawn from at once
   * (the server picked it on older capabilities): it never downloads or trains.
   */
  async watch(task: MessageOf<'task.train'>, taskId: () => string, signal: AbortSignal): Promise<WithdrawWatch> {
    const entry: Watched = { task, taskId, ctl: linkedController(signal) };
    this.#watched.add(entry);
    const watch = {
      signal: entry.ctl.signal,
      dispose: () => {
        this.#watched.delete(entry);
        entry.ctl.dispose();
      },
    };
    // The user left this round (its `withdraw` may have been lost in a cut): it stays left.
    if (this.#left.includes(task.roundId)) this.#withdraw(entry, 'user');
    else if (hasConditions(task.settings.conditions)) this.#check(entry, await this.readCapabilities());
    return watch;
  }

  /** Fresh capabilities (a heartbeat, a device event): withdraws from every watched task whose conditions they break. */
  observe(caps: Capabilities): void {
    for (const entry of [...this.#watched]) this.#check(entry, caps);
  }

  /** Withdraws from every watched task with reason `user`; false when none was training. */
  user(): boolean {
    const entries = [...this.#watched].filter((e) => !e.ctl.signal.aborted);
    for (const entry of entries) this.#withdraw(entry, 'user');
    return entries.length > 0;
  }

  #check(entry: Watched, caps: Capabilities): void {
    const conditions = entry.task.settings.conditions;
    if (!hasConditions(conditions)) return;
    const reason = conditionBreach(caps, conditions);
    if (reason) this.#withdraw(entry, reason, caps);
  }

  #withdraw(entry: Watched, reason: WithdrawReason, capabilities?: Capabilities): void {
    if (entry.ctl.signal.aborted) return;
    const { task } = entry;
    if (reason === 'user' && !this.#left.includes(task.roundId)) {
      this.#left.push(task.roundId);
      if (this.#left.length > MAX_LEFT_ROUNDS) this.#left.shift();
    }
    const taskId = entry.taskId();
    const caps = capabilities;
    try {
      const conn = this.ctx.connection();
      if (conn?.isOpen) conn.send({ v: PROTOCOL_VERSION, kind: 'withdraw', roundId: task.roundId, taskId, reason, ...(caps ? { capabilities: caps } : {}) });
    } catch {
      // The connection just went away: the combiner stops waiting after the reconnect grace, and a re-sent task is
      // withdrawn from again at once while the condition holds.
    }
    const { reporter } = this.ctx;
    reporter.emit('withdrawn', { roundId: task.roundId, taskId, sessionId: task.sessionId, reason, ...(caps ? { capabilities: caps } : {}) });
    const err = fedError('ABORTED', `withdrew from round ${task.roundId} (${reason})`);
    reporter.emit('round', { roundId: task.roundId, taskId, sessionId: task.sessionId, task: 'train', phase: 'withdrawn', error: err });
    entry.ctl.abort(err);
  }
}
