import { describe, expect, it } from 'vitest';
import { SessionConfigSchema } from '../config.js';
import { fedavg } from '../strategy/index.js';
import type { PartialAggregate, Strategy, StrategyContext } from '../strategy/types.js';
import { addSummary, mergeFinitePartials, mergePartials, trainMetricMeans, validityFailure, type DecodedPartial } from './reducer.js';

const ctx: StrategyContext = { sessionId: 's', round: 1, layout: [{ name: 'w', shape: [2] }], paramCount: 2, seed: 1 };
const sumPartial = (count: number, weight: number, sum: number[]): PartialAggregate => ({ count, weight, tensors: { sum: new Float32Array(sum) }, scalars: {} });
const decoded = (combinerId: string, count: number): DecodedPartial => ({
  partial: sumPartial(count, count, [0, 0]),
  metrics: {},
  summary: { combinerId, count, weight: count, refusedStale: 0, refused: 0, receivedAt: 0 },
});

describe('the reducer', () => {
  it('merges partials example-weighted: one combiner or three give the same sum', () => {
    const strategy = fedavg as unknown as Strategy<unknown, unknown>;
    const options = strategy.optionsSchema.parse({});
    // Client updates n_i * delta_i: a = 1 * [1, 1], b = 3 * [2, 0], c = 4 * [0, 4].
    const one = mergePartials(strategy, options, [sumPartial(3, 8, [7, 17])], ctx);
    const three = mergePartials(strategy, options, [sumPartial(1, 1, [1, 1]), sumPartial(1, 3, [6, 0]), sumPartial(1, 4, [0, 16])], ctx);
    expect([three.count, three.weight, [...three.tensors.sum!]]).toEqual([one.count, one.weight, [...one.tensors.sum!]]);
    expect(() => mergePartials(strategy, options, [], ctx)).toThrow();
  });

  it('leaves out a partial whose merge would overflow float32, and keeps the others', () => {
    const strategy = fedavg as unknown as Strategy<unknown, unknown>;
    const options = strategy.optionsSchema.parse({});
    const big = (id: string): DecodedPartial => ({ ...decoded(id, 1), partial: sumPartial(1, 1, [3e38, 0]) });
    const { merged, dropped } = mergeFinitePartials(strategy, options, [big('c1'), decoded('c2', 2), big('c3')], ctx);
    expect([merged.count, [...merged.tensors.sum!]]).toEqual([3, [Math.fround(3e38), 0]]);
    expect(dropped).toEqual(['c3: merging its partial overflows float32']);
  });

  it('applies the validity policy: enough qualifying partials, enough updates, at least one', () => {
    const config = SessionConfigSchema.parse({ minClients: 2, validity: { minCombiners: 2, minTotalUpdates: 5 } });
    expect(validityFailure(config, [decoded('c1', 3), decoded('c2', 2)], [])).toBeNull();
    // c2 folded one update only: it does not qualify.
    expect(validityFailure(config, [decoded('c1', 5), decoded('c2', 1)], ['c3: TIMEOUT'])).toBe(
      'invalid round: 1 partial(s) with >= 2 update(s) (need 2), 6 update(s) in all; c3: TIMEOUT',
    );
    expect(validityFailure(config, [decoded('c1', 2), decoded('c2', 2)], [])).toMatch(/4 update\(s\) in all/);
    expect(validityFailure(SessionConfigSchema.parse({}), [], [])).toMatch(/^invalid round: 0 partial/);
  });

  it('averages training metrics by examples: (2*1 + 1*3 + 0.5*4) / 8 = 0.875', () => {
    const means = trainMetricMeans([
      { metrics: { loss: 2 }, weight: 1 },
      { metrics: { loss: 1, acc: 0.5 }, weight: 3 },
      { metrics: { loss: 0.5 }, weight: 4 },
    ]);
    expect(means.loss).toBeCloseTo(0.875, 12);
    expect(means.acc).toBe(0.5);
  });

  it('adds up what one combiner forwarded during an async version', () => {
    const a = { combinerId: 'c', count: 1, weight: 5, refusedStale: 0, refused: 1, firstUpdateAt: 10, lastUpdateAt: 10, receivedAt: 11 };
    const b = { combinerId: 'c', count: 2, weight: 3, refusedStale: 1, refused: 0, firstUpdateAt: 12, lastUpdateAt: 20, receivedAt: 21 };
    expect(addSummary(undefined, a)).toEqual(a);
    expect(addSummary(a, b)).toEqual({ combinerId: 'c', count: 3, weight: 8, refusedStale: 1, refused: 1, firstUpdateAt: 10, lastUpdateAt: 20, receivedAt: 21 });
  });
});
