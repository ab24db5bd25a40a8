/**
 * `npm run simulate -- --compare-downloads ...`: the accuracy cost of delta downloads. After the run (delta
 * downloads unless `--downloads full`), the same simulation runs again on the same seed with full downloads, and
 * the first run's result file gets `accuracy_delta_vs_full_pt` (final test accuracy with deltas minus with full
 * models, in points; goal within 0.3) and the full run's figures beside it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SimulateOptions } from './args.js';
import { ROOT } from './prepare.js';

/** What the comparison needs of a simulation result. */
export interface DownloadsRun {
  final_accuracy: number;
  bytes_down_total: number;
  bytes_down_f32_equivalent: number;
}

/**
 * Runs the full-download twin of `first` and records the comparison in `first`'s result file.
 * @example
 * ```ts
 * const keys = await compareDownloads(opts, result, runSimulation);
 * keys.accuracy_delta_vs_full_pt; // e.g. -0.05
 * ```
 */
export async function compareDownloads(
  opts: SimulateOptions,
  first: DownloadsRun,
  run: (o: SimulateOptions) => Promise<DownloadsRun>,
): Promise<Record<string, number>> {
  const full = await run({ ...opts, downloads: 'full', centralized: false, out: opts.out.replace(/(\.json)?$/, '-full-downloads.json') });
  const keys = {
    accuracy_delta_vs_full_pt: Math.round((first.final_accuracy - full.final_accuracy) * 100 * 1000) / 1000,
    final_accuracy_full_downloads: full.final_accuracy,
    bytes_down_total_full_downloads: full.bytes_down_total,
    bytes_down_ratio: first.bytes_down_f32_equivalent > 0 ? Math.round((first.bytes_down_total / first.bytes_down_f32_equivalent) * 1000) / 1000 : NaN,
  };
  const out = resolve(ROOT, opts.out);
  writeFileSync(out, `${JSON.stringify({ ...(JSON.parse(readFileSync(out, 'utf8')) as object), ...keys }, null, 2)}\n`);
  return keys;
}
