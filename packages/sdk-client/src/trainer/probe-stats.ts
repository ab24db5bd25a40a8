/**
 * The statistics of the backend probe: each backend is timed in several interleaved passes, each pass gives one
 * examples/s sample, and the samples give a mean and a 95% confidence interval (Student's t, n - 1 degrees of
 * freedom). Two backends whose intervals overlap are within measurement noise of each other; then the pick goes
 * to the one that scales with larger models and batches (WebGPU, then WebGL, then WASM, then CPU), not to
 * whichever happened to win this run.
 */
import type { BackendName } from './api.js';

/** Mean examples/s of a backend's passes and the half-width of its 95% confidence interval (0 with one pass). */
export interface SpeedStats {
  mean: number;
  half: number;
  n: number;
}

// Two-sided 95% quantiles of Student's t for 1..10 degrees of freedom; beyond, 2.0 is within 2% of the truth.
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/**
 * Mean and 95% confidence half-width of a list of samples.
 * @example
 * ```ts
 * summarize([70, 65, 75]); // { mean: 70, half: 12.4, n: 3 }
 * ```
 */
export function summarize(samples: readonly number[]): SpeedStats {
  const n = samples.length;
  if (n === 0) return { mean: 0, half: 0, n: 0 };
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, half: 0, n };
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, half: (T95[n - 2] ?? 2.0) * Math.sqrt(variance / n), n };
}

const num = (v: number) => v.toFixed(v < 10 ? 1 : 0);

/**
 * One probe table cell: `70 ± 12 ex/s (3 runs)`.
 * @example
 * ```ts
 * describeStats({ mean: 70, half: 12.4, n: 3 }); // '70 ± 12 ex/s (3 runs)'
 * ```
 */
export function describeStats(s: SpeedStats): string {
  return s.n > 1 ? `${num(s.mean)} ± ${num(s.half)} ex/s (${s.n} runs)` : `${num(s.mean)} ex/s`;
}

/**
 * Picks a backend: the fastest mean, unless a backend earlier in `preference` is within noise of it (the two
 * intervals overlap); then that one, with a note saying why. Null when `stats` is empty.
 * @example
 * ```ts
 * pickBackend(new Map([['webgl', { mean: 49, half: 9, n: 3 }], ['cpu', { mean: 55, half: 8, n: 3 }]]), ['webgpu', 'webgl', 'wasm', 'cpu']);
 * // { chosen: 'webgl', fastest: 'cpu', note: 'within noise of cpu (55 ± 8 ex/s (3 runs)): webgl preferred, it scales better with larger models' }
 * ```
 */
export function pickBackend(stats: ReadonlyMap<BackendName, SpeedStats>, preference: readonly BackendName[]): { chosen: BackendName; fastest: BackendName; note?: string } | null {
  let fastest: [BackendName, SpeedStats] | undefined;
  for (const e of stats) if (!fastest || e[1].mean > fastest[1].mean) fastest = e;
  if (!fastest) return null;
  const [fName, f] = fastest;
  const withinNoise = (s: SpeedStats) => s.mean + s.half >= f.mean - f.half;
  const chosen = preference.find((name) => {
    const s = stats.get(name);
    return s !== undefined && withinNoise(s);
  }) ?? fName;
  if (chosen === fName) return { chosen, fastest: fName };
  return { chosen, fastest: fName, note: `within noise of ${fName} (${describeStats(f)}): ${chosen} preferred, it scales better with larger models` };
}
