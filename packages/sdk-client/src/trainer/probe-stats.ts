/**
 * The statistics of the backend probe. Each backend is timed in several interleaved passes; each pass gives one
 * examples/s sample. Speeds are compared as ratios, so the statistics are taken on their logarithms: the centre
 * is the geometric mean and the 95% confidence interval (Student's t, n - 1 degrees of freedom) is a factor
 * around it (`1099 ex/s, 95% CI 930-1300`); one slow pass (another tab, a GC) widens it without dragging the
 * centre as far as an arithmetic mean would. Two backends are compared pass by pass (paired: the ratio of their
 * speeds in the same pass, so the machine's load cancels out); when the 95% interval of that ratio reaches 1
 * they are within measurement noise of each other, and the pick goes to the one that scales with larger models
 * and batches (WebGPU, then WebGL, then WASM, then CPU), not to whichever happened to win this run.
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
 * Paired comparison of two backends timed in the same passes (sample i of each comes from pass i): the
 * geometric mean of the speed ratios `a_i / b_i` and its 95% interval. Pairing is what interleaving buys: a
 * slow moment of the machine slows both members of a pair, so it cancels out of the ratio.
 * @example
 * ```ts
 * compare([400, 380, 420], [1500, 1400, 1700]); // { ratio: 0.26, low: 0.23, high: 0.30, n: 3 }: a is slower, beyond noise
 * ```
 */
export function compare(a: readonly number[], b: readonly number[]): { ratio: number; low: number; high: number; n: number } {
  const n = Math.min(a.length, b.length);
  const d: number[] = [];
  for (let i = 0; i < n; i++) if ((a[i] as number) > 0 && (b[i] as number) > 0) d.push(Math.log((a[i] as number) / (b[i] as number)));
  const s = summarize(d.map(Math.exp));
  return { ratio: s.mean, low: s.low, high: s.high, n: s.n };
}

const fastestOf = (samples: ReadonlyMap<BackendName, readonly number[]>): BackendName | undefined => {
  let best: [BackendName, number] | undefined;
  for (const [name, xs] of samples) {
    const m = summarize(xs).mean;
    if (!best || m > best[1]) best = [name, m];
  }
  return best?.[0];
};

/**
 * True when another pass could change the pick: some backend's paired ratio to the fastest is still within noise
 * of 1 (its interval reaches 1) and that interval is wider than ±`tolerance` (default 10%). The probe stops early
 * when this is false.
 * @example
 * ```ts
 * undecided(new Map([['webgl', [300, 900, 420]], ['wasm', [1000, 3000, 500]]])); // true
 * ```
 */
export function undecided(samples: ReadonlyMap<BackendName, readonly number[]>, tolerance = 0.1): boolean {
  const f = fastestOf(samples);
  if (f === undefined) return false;
  const fx = samples.get(f) as readonly number[];
  return [...samples].some(([name, xs]) => {
    if (name === f) return false;
    const c = compare(xs, fx);
    return c.n < 2 || (c.high >= 1 && c.high / c.low > (1 + tolerance) ** 2);
  });
}

/**
 * Picks a backend from per-pass samples: the fastest geometric mean, unless a backend earlier in `preference` is
 * within noise of it (the 95% interval of their paired speed ratio reaches 1); then that one, with a note saying
 * why. Null when `samples` is empty.
 * @example
 * ```ts
 * pickBackend(new Map([['webgl', [45, 49, 53]], ['cpu', [50, 55, 52]]]), ['webgpu', 'webgl', 'wasm', 'cpu']);
 * // { chosen: 'webgl', fastest: 'cpu', note: 'within noise of cpu (speed ratio 0.93, 95% CI 0.78-1.13): webgl preferred, it scales better with larger models' }
 * ```
 */
export function pickBackend(samples: ReadonlyMap<BackendName, readonly number[]>, preference: readonly BackendName[]): { chosen: BackendName; fastest: BackendName; note?: string } | null {
  const f = fastestOf(samples);
  if (f === undefined) return null;
  const fx = samples.get(f) as readonly number[];
  for (const name of preference) {
    if (name === f) return { chosen: f, fastest: f };
    const xs = samples.get(name);
    if (!xs) continue;
    const c = compare(xs, fx);
    if (c.n >= 2 && c.high >= 1) {
      const r = (v: number) => v.toFixed(2);
      return { chosen: name, fastest: f, note: `within noise of ${f} (speed ratio ${r(c.ratio)}, 95% CI ${r(c.low)}-${r(c.high)}): ${name} preferred, it scales better with larger models` };
    }
  }
  return { chosen: f, fastest: f };
}
