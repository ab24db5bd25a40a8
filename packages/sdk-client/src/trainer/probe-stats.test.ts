import { describe, expect, it } from 'vitest';
import { describeStats, pickBackend, summarize, type SpeedStats } from './probe-stats.js';
import { BACKEND_NAMES } from './backends.js';
import type { BackendName } from './api.js';

const stats = (entries: Array<[BackendName, number[]]>) => new Map(entries.map(([n, xs]) => [n, summarize(xs)] as [BackendName, SpeedStats]));

describe('backend probe statistics', () => {
  it('gives a mean and a Student-t 95% interval', () => {
    const s = summarize([70, 65, 75]);
    expect(s.mean).toBe(70);
    expect(s.half).toBeCloseTo(4.303 * 5 / Math.sqrt(3), 6);
    expect(describeStats(s)).toBe('70 ± 12 ex/s (3 runs)');
    expect(describeStats(summarize([3.25]))).toBe('3.3 ex/s');
  });

  it('prefers the backend that scales when two are within noise (the issue: webgl 49 vs cpu 55)', () => {
    const pick = pickBackend(stats([['webgl', [45, 49, 53]], ['cpu', [50, 55, 60]]]), BACKEND_NAMES);
    expect(pick?.chosen).toBe('webgl');
    expect(pick?.fastest).toBe('cpu');
    expect(pick?.note).toMatch(/^within noise of cpu \(55 ± \d+ ex\/s \(3 runs\)\): webgl preferred/);
  });

  it('keeps the fastest when the gap is beyond noise, whatever the preference', () => {
    const pick = pickBackend(stats([['webgpu', [18, 19, 20]], ['webgl', [94, 95, 96]], ['cpu', [44, 45, 46]]]), BACKEND_NAMES);
    expect(pick).toEqual({ chosen: 'webgl', fastest: 'webgl' });
    expect(pickBackend(new Map(), BACKEND_NAMES)).toBeNull();
  });
});
