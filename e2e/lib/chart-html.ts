/**
 * A self-contained HTML chart of accuracy per round (uPlot and its CSS inlined: opens offline).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface ChartInput {
  title: string;
  subtitle: string;
  /** Accuracy of the global model after each round (index 0 = the initial model). */
  accuracy: (number | null)[];
  /** Centralized baseline, drawn as a horizontal reference line. */
  centralized?: number | null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Renders the chart page as a string.
 * @example
 * ```ts
 * writeFileSync('bench/results/simulate.html', renderAccuracyChart({ title: 'simulate', subtitle: '', accuracy: [0.1, 0.8] }));
 * ```
 */
export function renderAccuracyChart(input: ChartInput): string {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const js = readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8');
  const css = readFileSync(join(dist, 'uPlot.min.css'), 'utf8');
  const rounds = input.accuracy.map((_, i) => i);
  const acc = input.accuracy.map((a) => (a == null ? null : a * 100));
  const central = input.centralized == null ? null : input.centralized * 100;
  const data = JSON.stringify([rounds, acc, rounds.map(() => central)]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>${css}
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330}h1{font-size:1.2rem;margin:0}p{color:#6b7385;margin:.3rem 0 1rem}</style>
</head><body><h1>${escapeHtml(input.title)}</h1><p>${escapeHtml(input.subtitle)}</p><div id="c"></div>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script>
const data = ${data};
new uPlot({ width: 900, height: 420, scales: { x: { time: false }, y: { range: [0, 100] } },
  axes: [{ label: 'round' }, { label: 'test accuracy %' }],
  series: [{ label: 'round' },
    { label: 'federated (global model)', stroke: '#3567e0', width: 2.5, points: { size: 6 } },
    { label: 'centralized baseline', stroke: '#1f9d6a', width: 1.5, dash: [8, 6], points: { show: false } }] },
  data, document.getElementById('c'));
</script></body></html>
`;
}
