/**
 * A progress bar for long transfers (model downloads, package uploads), drawn on stderr only when it is a
 * terminal (a pipe or a log file gets nothing), redrawn at most every 100 ms.
 */
import { formatBytes } from '@fedweb/codec';
import type { ProgressFn } from '../api-client/index.js';
import type { Out } from './output.js';

/**
 * One line of the bar: `label [#####.....]  42% 4.2 MiB / 10.0 MiB` (no bar when the total is unknown).
 * @example
 * ```ts
 * barLine('download', 50, 100, 10) // 'download [#####.....]  50% 50 B / 100 B'
 * ```
 */
export function barLine(label: string, done: number, total: number | null, width = 30): string {
  if (!total) return `${label} ${formatBytes(done)}`;
  const frac = Math.min(1, done / total);
  const filled = Math.round(frac * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}`;
}

/**
 * A ProgressFn drawing a bar on `out.progress` when it is a TTY, plus `done()` ending its line; undefined
 * (no progress callback at all) when it is not a TTY.
 * @example
 * ```ts
 * const bar = progressBar(STDOUT, 'model s1.m3');
 * await api.downloadModel('s1.m3', bar ? { onProgress: bar.update } : {});
 * bar?.done();
 * ```
 */
export function progressBar(out: Out, label: string, now: () => number = Date.now): { update: ProgressFn; done: () => void } | undefined {
  const tty = out.progress;
  if (!tty?.isTTY) return undefined;
  let last = -Infinity;
  let pending = '';
  const draw = (text: string): void => void tty.write(`\r${text}\x1b[K`);
  return {
    update: (done, total) => {
      pending = barLine(label, done, total);
      const t = now();
      // Throttled, except the last step (so the bar ends at 100%).
      if (t - last >= 100 || (total !== null && done >= total)) {
        last = t;
        draw(pending);
      }
    },
    done: () => {
      if (pending) draw(pending);
      tty.write('\n');
    },
  };
}
