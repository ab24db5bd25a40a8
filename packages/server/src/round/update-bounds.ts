/**
 * The value bounds a round's `round.start` carries (the combiners' admission applies them; README "Threat
 * model: what one client can do to the model"). Defaults need no tuning:
 *
 *  - weight cap: with `weighting: 'examples'`, an update weighs min(numExamples, cap), cap =
 *    `maxExamplesPerUpdate` when the operator set it, else {@link CLAIM_CAP_FACTOR} x the previous round's
 *    median claim (rounded up: weights stay whole numbers); with no previous round (the first round, or after a controller restart) the cap is 1, so
 *    every update weighs the same. `weighting: 'uniform'`: always 1.
 *  - norm bound: `maxUpdateNorm` when set, else {@link NORM_BOUND_FACTOR} x the previous round's median update
 *    norm; with no previous round, {@link FIRST_ROUND_NORM_FACTOR} x max(1, ‖global model‖).
 *
 * So one client among n honest ones, whatever it claims and sends, weighs at most CLAIM_CAP_FACTOR honest
 * claims and moves the sum at most NORM_BOUND_FACTOR honest norms: as far as about 2 x 5 = 10 honest updates
 * (in the first round: one update of norm up to 10 x max(1, ‖global‖), among n + 1 equal weights).
 *
 * A differentially private strategy (`strategy.privacy`) gets no bound derived from the clients' data (medians
 * are not noised): its weights are its own (uniform) and the norm bound is the first-round one.
 */
import type { MessageOf } from '@fedweb/codec';
import type { SessionConfig } from '../config.js';
import { mergeUpdateStats, type UpdateStatsSummary } from '../reducer/update-stats.js';
import type { StateStore } from '../store/types.js';
import { l2Norm } from '../strategy/common.js';

/** The automatic weight cap is this many times the previous round's median claim. */
export const CLAIM_CAP_FACTOR = 2;
/** The automatic norm bound is this many times the previous round's median update norm. */
export const NORM_BOUND_FACTOR = 5;
/** Without a previous round, the norm bound is this many times max(1, the global model's L2 norm). */
export const FIRST_ROUND_NORM_FACTOR = 10;

/** The bound fields of `round.start`. */
export type RoundBounds = Pick<MessageOf<'round.start'>, 'maxUpdateNorm' | 'clipUpdateNorm' | 'exampleCap'>;

/**
 * The bounds for the next round (or async stream) of a session.
 * @example
 * ```ts
 * roundBounds(config, global.flat, { n: 10, claimMedian: 600, normMedian: 0.8 }, false); // { exampleCap: 1200, maxUpdateNorm: 4, clipUpdateNorm: false }
 * ```
 */
export function roundBounds(
  config: Pick<SessionConfig, 'weighting' | 'maxExamplesPerUpdate' | 'maxUpdateNorm' | 'onNormExceeded'>,
  global: Float32Array,
  previous: UpdateStatsSummary | undefined,
  privateStrategy: boolean,
): Required<RoundBounds> {
  const history = privateStrategy ? undefined : previous;
  let exampleCap = 1;
  if (config.weighting === 'examples') {
    if (config.maxExamplesPerUpdate !== undefined) exampleCap = config.maxExamplesPerUpdate;
    else if (history) exampleCap = Math.max(1, Math.ceil(CLAIM_CAP_FACTOR * history.claimMedian));
  }
  const firstRound = FIRST_ROUND_NORM_FACTOR * Math.max(1, l2Norm(global));
  // A round of all-zero updates gives a zero median: the bound never drops below a millionth of the first-round one.
  const auto = history ? Math.max(NORM_BOUND_FACTOR * history.normMedian, firstRound * 1e-6) : firstRound;
  return { exampleCap, maxUpdateNorm: config.maxUpdateNorm ?? auto, clipUpdateNorm: config.onNormExceeded === 'clip' };
}

/**
 * The update statistics of the session's latest finished round that has them, from the store (a restarted
 * controller resumes with the same bounds as an uninterrupted one); undefined when there is none.
 * @example
 * ```ts
 * rt.updateStats ??= await previousUpdateStats(deps.state, s.id);
 * ```
 */
export async function previousUpdateStats(state: Pick<StateStore, 'listRounds'>, sessionId: string): Promise<UpdateStatsSummary | undefined> {
  const rounds = (await state.listRounds(sessionId)).filter((r) => r.status === 'committed' || r.status === 'failed').sort((a, b) => b.round - a.round);
  for (const r of rounds) {
    const stats = mergeUpdateStats(r.partials.map((p) => p.updateStats));
    if (stats) return stats;
  }
  return undefined;
}
