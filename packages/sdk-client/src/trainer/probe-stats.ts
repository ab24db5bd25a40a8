/**
 * The statistics of the backend probe. Each backend is timed in several interleaved passes; each pass gives one
 * examples/s sample. Speeds are compared as ratios, so the statistics are taken on their logarithms: the centre
 * is the geometric mean and the 95% confidence interval (Student's t, n - 1 degrees of freedom) is a factor
 * around it (`1099 ex/s, 95% CI 930-1300`); one slow pass (another tab, a GC) widens it without dragging the
 * centre as far as an arithmetic mean would. Two backends whose intervals overlap are within measurement noise
 * of each other; then the pick goes to the one that scales with larger models and batches (WebGPU, then WebGL,
 * then WASM, then CPU), not to whichever happened to win this run.
 */
import type { BackendName } from './api.js';

/** A backend's speed over its passes: geometric mean, 95% interval bounds (examples/s), number of passes. */
export interface SpeedStats {
  mean: number;
  low: number;
  high: number;
  n: number;
}

// Two-sided 95% quantiles of Student's t for 1..10 degrees of freedom; beyond, 2.0 is within 2% of the truth.
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/**
 * Geometric mean and 95% confidence interval of positive samples (examples/s).
 * @example
 * ```ts
 * summarize([100, 110, 90]); // { mean: 99.7, low: 77.7, high: 127.9, n: 3 }
 * ```
 */
export function summarize(samples: readonly number[]): SpeedStats {
  const logs = samples.filter((x) => x > 0 && Number.isFinite(x)).map(Math.log);
  const n = logs.length;
  if (n === 0) return { mean: 0, low: 0, high: 0, n: 0 };
  const m = logs.reduce((a, b) => a + b, 0) / n;
  const half = n === 1 ? 0 : (T95[n - 2] ?? 2.0) * Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1) / n);
  return { mean: Math.exp(m), low: Math.exp(m - half), high: Math.exp(m + half), n };
}

const num = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)));

/**
 * One probe table cell: `1099 ex/s (95% CI 930-1300, 3 runs)`.
 * @example
 * ```ts
 * describeStats({ mean: 1099, low: 930, high: 1300, n: 3 }); // '1099 ex/s (95% CI 930-1300, 3 runs)'
 * ```
 */
export function describeStats(s: SpeedStats): string {
  return s.n > 1 ? `${num(s.mean)} ex/s (95% CI ${num(s.low)}-${num(s.high)}, ${s.n} runs)` : `${num(s.mean)} ex/s`;
}

/**
 * True when another pass could change the pick: the fastest backend's interval overlaps another's and is still
 * wider than ±`tolerance` (a factor; default 10%). The probe stops early when this is false.
 * @example
 * ```ts
 * undecided(stats); // true: wasm 1099 (930-1300) and cpu 1000 (600-1600) overlap and cpu is still wide
 * ```
 */
export function undecided(stats: ReadonlyMap<BackendName, SpeedStats>, tolerance = 0.1): boolean {
  const all = [...stats.values()];
  if (all.length < 2) return false;
  const best = all.reduce((a, b) => (b.mean > a.mean ? b : a));
  return all.some((s) => s !== best && s.high >= best.low && (s.high / s.low > (1 + tolerance) ** 2 || best.high / best.low > (1 + tolerance) ** 2));
}

/**
 * Picks a backend: the fastest mean, unless a backend earlier in `preference` is within noise of it (the two
 * intervals overlap); then that one, with a note saying why. Null when `stats` is empty.
 * @example
 * ```ts
 * pickBackend(new Map([['webgl', { mean: 49, low: 40, high: 60, n: 3 }], ['cpu', { mean: 55, low: 45, high: 67, n: 3 }]]), ['webgpu', 'webgl', 'wasm', 'cpu']);
 * // { chosen: 'webgl', fastest: 'cpu', note: 'within noise of cpu (55 ex/s (95% CI 45-67, 3 runs)): webgl preferred, it scales better with larger models' }
 * ```
 */
export function pickBackend(stats: ReadonlyMap<BackendName, SpeedStats>, preference: readonly BackendName[]): { chosen: BackendName; fastest: BackendName; note?: string } | null {
  let fastest: [BackendName, SpeedStats] | undefined;
  for (const e of stats) if (!fastest || e[1].mean > fastest[1].mean) fastest = e;
  if (!fastest) return null;
  const [fName, f] = fastest;
  const chosen = preference.find((name) => {
    const s = stats.get(name);
    return s !== undefined && s.high >= f.low;
  }) ?? fName;
  if (chosen === fName) return { chosen, fastest: fName };
  return { chosen, fastest: fName, note: `within noise of ${fName} (${describeStats(f)}): ${chosen} preferred, it scales better with larger models` };
}
