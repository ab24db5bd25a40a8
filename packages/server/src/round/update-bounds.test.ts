import { describe, expect, it } from 'vitest';
import { SessionConfigSchema } from '../config.js';
import type { RoundRecord } from '../store/types.js';
import { CLAIM_CAP_FACTOR, FIRST_ROUND_NORM_FACTOR, NORM_BOUND_FACTOR, previousUpdateStats, roundBounds } from './update-bounds.js';

const defaults = SessionConfigSchema.parse({});
const global = new Float32Array([3, 4]); // L2 norm 5
const seen = { n: 5, claimMedian: 600, normMedian: 0.8 };

describe('round bounds (the defaults of README "Threat model")', () => {
  it('first round: uniform weights (cap 1) and 10 x max(1, |global|) as the norm bound, refusing', () => {
    expect(roundBounds(defaults, global, undefined, false)).toEqual({ exampleCap: 1, maxUpdateNorm: FIRST_ROUND_NORM_FACTOR * 5, clipUpdateNorm: false });
    // A zero model: the bound does not collapse to 0.
    expect(roundBounds(defaults, new Float32Array(2), undefined, false).maxUpdateNorm).toBe(FIRST_ROUND_NORM_FACTOR);
  });

  it('later rounds: 2x the previous median claim and 5x the previous median norm', () => {
    expect(roundBounds(defaults, global, seen, false)).toEqual({ exampleCap: CLAIM_CAP_FACTOR * 600, maxUpdateNorm: NORM_BOUND_FACTOR * 0.8, clipUpdateNorm: false });
  });

  it("the operator's settings win: maxExamplesPerUpdate, maxUpdateNorm, uniform weighting, clipping", () => {
    const c = SessionConfigSchema.parse({ maxExamplesPerUpdate: 50, maxUpdateNorm: 3, onNormExceeded: 'clip' });
    expect(roundBounds(c, global, seen, false)).toEqual({ exampleCap: 50, maxUpdateNorm: 3, clipUpdateNorm: true });
    expect(roundBounds(SessionConfigSchema.parse({ weighting: 'uniform', maxExamplesPerUpdate: 50 }), global, seen, false).exampleCap).toBe(1);
  });

  it('a differentially private strategy gets nothing derived from the clients (its medians are not noised)', () => {
    expect(roundBounds(defaults, global, seen, true)).toEqual(roundBounds(defaults, global, undefined, false));
  });

  it("restores the latest finished round's statistics from the store (controller restart)", async () => {
    const round = (n: number, status: RoundRecord['status'], claimMedian?: number) =>
      ({ round: n, status, partials: [{ combinerId: 'c', count: 1, weight: 1, refusedStale: 0, refused: 0, receivedAt: 0, ...(claimMedian ? { updateStats: { n: 3, claimMedian, normMedian: 1 } } : {}) }] }) as unknown as RoundRecord;
    const state = { listRounds: async () => [round(1, 'committed', 10), round(2, 'failed', 20), round(3, 'interrupted', 30)] };
    expect(await previousUpdateStats(state, 's')).toEqual({ n: 3, claimMedian: 20, normMedian: 1 });
    expect(await previousUpdateStats({ listRounds: async () => [] }, 's')).toBeUndefined();
  });
});
