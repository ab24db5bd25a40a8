import { describe, expect, it } from 'vitest';
import { compare, describeStats, pickBackend, summarize, undecided } from './probe-stats.js';
import { BACKEND_NAMES } from './backends.js';
import type { BackendName } from './api.js';

const stats = (entries: Array<[BackendName, number[]]>) => new Map<BackendName, number[]>(entries);

describe('backend probe statistics', () => {
  it('gives a geometric mean and a Student-t 95% interval on the log scale', () => {
    const s = summarize([100, 110, 90]);
    const logs = [100, 110, 90].map(Math.log);
    const m = logs.reduce((a, b) => a + b) / 3;
    const half = 4.303 * Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / 2 / 3);
    expect(s.mean).toBeCloseTo(Math.exp(m), 9);
    expect(s.low).toBeCloseTo(Math.exp(m - half), 9);
    expect(s.high).toBeCloseTo(Math.exp(m + half), 9);
    expect(describeStats(s)).toBe('100 ex/s (95% CI 78-128, 3 runs)');
    expect(describeStats(summarize([3.25]))).toBe('3.3 ex/s');
  });

  it('prefers the backend that scales when two are within noise (the issue: webgl 49 vs cpu 55)', () => {
    const pick = pickBackend(stats([['webgl', [45, 52, 49]], ['cpu', [50, 55, 60]]]), BACKEND_NAMES);
    expect(pick?.chosen).toBe('webgl');
    expect(pick?.fastest).toBe('cpu');
    expect(pick?.note).toMatch(/^within noise of cpu \(speed ratio 0\.\d\d, 95% CI 0\.\d\d-1\.\d\d\): webgl preferred/);
  });

  it('compares pass by pass: a machine-wide slowdown hits both members of a pair and cancels out', () => {
    // The run behind the e2e screenshot: both vary 6x with the machine's load, webgl ~4x slower in every pass.
    const webgl = [150, 400, 1000, 300, 600, 250];
    const wasm = [500, 1500, 3800, 1100, 2500, 900];
    expect(summarize(webgl).high).toBeGreaterThan(summarize(wasm).low); // the unpaired intervals overlap...
    const c = compare(webgl, wasm);
    expect(c.high).toBeLessThan(1); // ...the paired ratio is clearly below 1
    expect(pickBackend(stats([['webgl', webgl], ['wasm', wasm]]), BACKEND_NAMES)).toEqual({ chosen: 'wasm', fastest: 'wasm' });
  });

  it('keeps the fastest when the gap is beyond noise, whatever the preference (webgl 70 vs cpu 47, tight)', () => {
    expect(pickBackend(stats([['webgl', [69, 70, 71]], ['cpu', [46, 47, 48]]]), BACKEND_NAMES)).toEqual({ chosen: 'webgl', fastest: 'webgl' });
    expect(pickBackend(stats([['webgpu', [18, 19, 20]], ['wasm', [94, 95, 96]], ['cpu', [44, 45, 46]]]), BACKEND_NAMES)).toEqual({ chosen: 'wasm', fastest: 'wasm' });
    expect(pickBackend(new Map(), BACKEND_NAMES)).toBeNull();
  });

  it('asks for more passes only while overlapping intervals are still wide', () => {
    expect(undecided(stats([['webgl', [300, 900, 420]], ['wasm', [1000, 3000, 500]]]))).toBe(true);
    expect(undecided(stats([['webgl', [99, 100, 101]], ['wasm', [100, 101, 102]]]))).toBe(false);
    expect(undecided(stats([['webgl', [10, 30, 20]], ['wasm', [1000, 1001, 999]]]))).toBe(false);
    expect(undecided(stats([['wasm', [1, 100]]]))).toBe(false);
  });
});
