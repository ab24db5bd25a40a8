export { formatBytes } from '@fedweb/codec';

/**
 * Formats a fraction as a percentage (`0.9712` -> `97.1%`).
 * @example
 * ```ts
 * formatPercent(0.5); // '50.0%'
 * ```
 */
export function formatPercent(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
}
