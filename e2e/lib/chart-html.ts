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
  /** Instead of `accuracy` / `centralized`: several curves (0..1 per round, index 0 = round 0), one colour each. */
  curves?: { label: string; values: (number | null)[]; dashed?: boolean }[];
}

const PALETTE = ['#3567e0', '#d0493f', '#1f9d6a', '#9b59b6', '#e08e0b', '#16a2b8', '#6b7385', '#c2185b', '#5d4037', '#2e7d32'];

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
  const curves =
    input.curves ??
    [
      { label: 'federated (global model)', values: input.accuracy },
      ...(input.centralized == null ? [] : [{ label: 'centralized baseline', values: input.accuracy.map(() => input.centralized ?? null), dashed: true }]),
    ];
  const length = Math.max(...curves.map((c) => c.values.length));
  const rounds = Array.from({ length }, (_, i) => i);
  const data = JSON.stringify([rounds, ...curves.map((c) => rounds.map((i) => (c.values[i] == null ? null : (c.values[i] as number) * 100)))]);
  const series = JSON.stringify([
    { label: 'round' },
    ...curves.map((c, i) => ({ label: c.label, stroke: PALETTE[i % PALETTE.length], width: c.dashed ? 1.5 : 2.5, ...(c.dashed ? { dash: [8, 6], points: { show: false } } : { points: { size: 5 } }) })),
  ]);
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
  series: ${series} },
  data, document.getElementById('c'));
</script></body></html>
`;
}
