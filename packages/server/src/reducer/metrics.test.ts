import { describe, expect, it } from 'vitest';
import { MetricMeans } from './metrics.js';

describe('MetricMeans', () => {
  it('weights each report by its examples', () => {
    const m = new MetricMeans();
    m.add({ loss: 0.5, acc: 0.9 }, 100);
    m.add({ loss: 0.2 }, 300);
    expect(m.means()).toEqual({ loss: (0.5 * 100 + 0.2 * 300) / 400, acc: 0.9 });
  });

  it('merges pre-weighted sums and exposes them', () => {
    const m = new MetricMeans();
    m.addSums({ accuracy: 80 }, 100);
    m.addSums({ accuracy: 270 }, 300);
    expect(m.sums()).toEqual({ accuracy: 350 });
    expect(m.means()).toEqual({ accuracy: 350 / 400 });
  });

  it('drops names without weight and non-finite means', () => {
    const m = new MetricMeans();
    expect(m.empty).toBe(true);
    m.add({ loss: 1 }, 0);
    m.add({ bad: Number.POSITIVE_INFINITY }, 2);
    expect(m.empty).toBe(false);
    expect(m.means()).toEqual({});
  });
});
