/**
 * Numbers for people, shared by the demo page and the `fedweb` CLI (pure: no DOM, no Node).
 */

/**
 * Formats a byte count for people (`1.2 MB`).
 * @example
 * ```ts
 * formatBytes(1536); // '1.5 kB'
 * ```
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
