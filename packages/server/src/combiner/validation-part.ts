/**
 * This combiner's part of validating a model (`validate.start`): the named clients evaluate it on their local
 * data, and the example-weighted metric sums go to the controller (`validate.partial`) once every client
 * answered or left, or at the deadline. FEDn's validation step works the same way
 * (https://docs.scaleoutsystems.com/).
 */
import { fedError, type MessageOf } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { MetricMeans } from '../reducer/metrics.js';
import { guard, type OutMessage } from '../transport.js';
import { sendClientError, type ClientConn } from './clients.js';
import { shortId } from './controller-link.js';

/** What a validation part needs from the rest of the combiner. */
export interface ValidationDeps {
  combinerId: string;
  log: Logger;
  client(clientId: string): ClientConn | undefined;
  /** Sends the `validate.partial` to the controller. */
  report(msg: OutMessage): void;
  ended(part: ValidationPart): void;
}

/**
 * Answers a `validation` result for a validation that is closed or unknown.
 * @example
 * ```ts
 * if (!part) refuseValidation(conn, msg); // STALE_ROUND
 * ```
 */
export function refuseValidation(conn: ClientConn, msg: MessageOf<'validation'>): void {
  sendClientError(conn, fedError('STALE_ROUND', `validation for ${msg.roundId} is closed or unknown`), msg.taskId);
}

/**
 * One validation part.
 * @example
 * ```ts
 * const part = new ValidationPart(validateStartMsg, deps);
 * part.open();
 * ```
 */
export class ValidationPart {
  closed = false;
  private readonly expected: Set<string>;
  private readonly taskIds: Map<string, string>;
  private readonly done = new Set<string>();
  /** Clients that refused their task (a typed `error` naming it): not waited for, not asked again. */
  private readonly refused = new Set<string>();
  private readonly metrics = new MetricMeans();
  private numExamples = 0;
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly start: MessageOf<'validate.start'>,
    private readonly deps: ValidationDeps,
  ) {
    this.expected = new Set(start.clientIds);
    this.taskIds = new Map(start.clientIds.map((id) => [id, shortId('v')]));
  }

  /** The round this validation belongs to. */
  get roundId(): string {
    return this.start.roundId;
  }

  /** Starts the deadline and sends the task to every expected client connected now. */
  open(): void {
    this.timer = setTimeout(() => guard(this.deps.log, 'validation deadline', () => this.finish(true)), Math.max(0, this.start.deadline - Date.now()));
    this.timer.unref();
    for (const id of this.start.clientIds) {
      const conn = this.deps.client(id);
      if (conn) this.sendTask(conn);
    }
    this.maybeFinish();
  }

  /** A client (re)joined: it gets its task if it still owes a result. */
  rejoined(conn: ClientConn): void {
    const id = conn.clientId as string;
    if (!this.closed && this.expected.has(id) && !this.done.has(id) && !this.refused.has(id)) this.sendTask(conn);
  }

  /** The client reported that it will not answer task `taskId` (e.g. its validations-per-round cap): do not wait for it. */
  gaveUp(clientId: string, taskId: string): void {
    if (this.closed || this.taskIds.get(clientId) !== taskId || this.done.has(clientId)) return;
    this.refused.add(clientId);
    this.maybeFinish();
  }

  private sendTask(conn: ClientConn): void {
    const id = conn.clientId as string;
    conn.peer.send({
      v: 2,
      kind: 'task.validate',
      taskId: this.taskIds.get(id) as string,
      sessionId: this.start.sessionId,
      roundId: this.start.roundId,
      model: this.start.model,
      package: this.start.package,
      deadline: this.start.deadline,
    });
  }

  /** A client's `validation` result. */
  received(conn: ClientConn, msg: MessageOf<'validation'>): void {
    const id = conn.clientId as string;
    if (this.closed || this.start.roundId !== msg.roundId || this.taskIds.get(id) !== msg.taskId) {
      return refuseValidation(conn, msg);
    }
    if (this.done.has(id)) return sendClientError(conn, fedError('DUPLICATE_UPDATE', 'validation already counted'), msg.taskId);
    this.done.add(id);
    this.count += 1;
    this.numExamples += msg.numExamples;
    this.metrics.add(msg.metrics, msg.numExamples);
    this.maybeFinish();
  }

  /** Finishes once every expected client answered or is gone. */
  maybeFinish(): void {
    if (this.closed) return;
    for (const id of this.expected) {
      if (this.done.has(id) || this.refused.has(id)) continue;
      const conn = this.deps.client(id);
      if (conn && !conn.closed) return;
    }
    this.finish(true);
  }

  /** Closes the part: the outstanding tasks are cancelled; `report` sends what came in to the controller. */
  finish(report: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.deps.ended(this);
    for (const id of this.expected) {
      if (this.done.has(id) || this.refused.has(id)) continue;
      this.deps.client(id)?.peer.send({ v: 2, kind: 'task.cancel', taskId: this.taskIds.get(id) as string, roundId: this.start.roundId, reason: 'validation closed' });
    }
    if (report) {
      const { roundId } = this.start;
      this.deps.report({ v: 2, kind: 'validate.partial', roundId, combinerId: this.deps.combinerId, metricSums: this.metrics.sums(), numExamples: this.numExamples, count: this.count });
    }
  }
}
