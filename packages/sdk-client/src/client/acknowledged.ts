/**
 * The rounds whose update the combiner acknowledged, remembered (a bounded number, newest kept) so a task
 * re-sent for such a round is answered from what was acknowledged instead of being trained and uploaded again.
 */

/** Rounds remembered. */
const MAX_ROUNDS = 64;

/**
 * What was acknowledged for a round.
 * @example
 * ```ts
 * const a: AcknowledgedUpdate = { roundId: 'r1', taskId: 't1', uploadId: 'u1' };
 * ```
 */
export interface AcknowledgedUpdate {
  roundId: string;
  taskId: string;
  uploadId: string;
}

/**
 * A bounded, insertion-ordered record of acknowledged rounds.
 * @example
 * ```ts
 * const acked = new AcknowledgedRounds();
 * acked.add({ roundId: 'r1', taskId: 't1', uploadId: 'u1' });
 * acked.get('r1')?.uploadId; // 'u1'
 * ```
 */
export class AcknowledgedRounds {
  readonly #rounds = new Map<string, AcknowledgedUpdate>();

  add(u: AcknowledgedUpdate): void {
    this.#rounds.delete(u.roundId);
    this.#rounds.set(u.roundId, { roundId: u.roundId, taskId: u.taskId, uploadId: u.uploadId });
    while (this.#rounds.size > MAX_ROUNDS) this.#rounds.delete(this.#rounds.keys().next().value as string);
  }

  get(roundId: string): AcknowledgedUpdate | undefined {
    return this.#rounds.get(roundId);
  }
}
