/**
 * A validate task: download the global model, evaluate it on the local validation data in the trainer, and send
 * the `validation` message (not resent after a cut: validation is best effort).
 */
import { PROTOCOL_VERSION, fedError, type MessageOf } from '@fedweb/codec';
import type { ClientContext } from '../context.js';
import type { Downloads } from '../downloads.js';
import type { TrainerHost } from '../trainer-host.js';

/**
 * What a validate task uses.
 * @example
 * ```ts
 * const parts: ValidateParts = { ctx, downloads, host };
 * ```
 */
export interface ValidateParts {
  ctx: ClientContext;
  downloads: Downloads;
  host: TrainerHost;
}

/**
 * Runs one validate task.
 * @example
 * ```ts
 * dispatcher.validate(task, stop, (signal) => runValidate(parts, task, signal));
 * ```
 */
export async function runValidate(parts: ValidateParts, task: MessageOf<'task.validate'>, signal: AbortSignal): Promise<void> {
  const { ctx, downloads, host } = parts;
  const { reporter, timeouts } = ctx;
  const base = { roundId: task.roundId, taskId: task.taskId, sessionId: task.sessionId, task: 'validate' as const };
  reporter.emit('round', { ...base, phase: 'started' });
  reporter.setStatus('downloading');
  await downloads.model(task.model, signal, false);
  const result = await host.run(task.package, signal, async (t) => {
    const model = await downloads.model(task.model, signal, false);
    reporter.setStatus('validating');
    return host.call(t, `validating round ${task.roundId}`, timeouts.validateMs, signal, t.validate(model));
  });
  reporter.emit('metrics', { roundId: task.roundId, taskId: task.taskId, task: 'validate', numExamples: result.numExamples, metrics: result.metrics });
  if (result.numExamples > 0) {
    const conn = ctx.connection();
    if (!conn?.isOpen) throw fedError('UNAVAILABLE', `validation of round ${task.roundId} finished while disconnected; it is not resent`);
    conn.send({ v: PROTOCOL_VERSION, kind: 'validation', taskId: task.taskId, roundId: task.roundId, numExamples: result.numExamples, metrics: result.metrics });
  }
  reporter.emit('round', { ...base, phase: 'validated' });
}
