/**
 * The round-by-round chart of the global model (uPlot): accuracy on the left axis (0-100 %), loss on the right,
 * failed rounds as red markers (the accuracy line breaks there; the marker sits at the unchanged model's
 * accuracy), and, when known, the centralized reference: the same model trained on the same data in one place.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface RoundPoint {
  round: number;
  accuracy?: number;
  loss?: number;
  /** The round failed (its reason). */
  failed?: string;
}

export interface RoundChart {
  /** Replaces the data (points sorted by round); `reference` is the centralized accuracy (0..1), when known. */
  set(points: RoundPoint[], reference?: number): void;
}

/**
 * Mounts the chart in `el`; it resizes with its container.
 * @example
 * ```ts
 * const chart = createRoundChart(document.getElementById('chart')!);
 * chart.set([{ round: 0, accuracy: 0.1, loss: 2.3 }, { round: 1, accuracy: 0.8, loss: 0.7 }]);
 * ```
 */
export function createRoundChart(el: HTMLElement): RoundChart {
  let plot: uPlot | undefined;
  const empty = document.createElement('div');
  empty.className = 'empty';
  empty.textContent = 'waiting for the first round to finish…';
  el.append(empty);

  const opts = (width: number): uPlot.Options => ({
    width,
    height: 240,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { x: { time: false }, acc: { range: [0, 100] }, loss: { auto: true, range: (_u, _min, max) => [0, Math.max(0.1, max * 1.1)] } },
    axes: [
      { label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100], values: (_u, ticks) => ticks.map((t) => String(t)), grid: { stroke: '#eef0f4' } },
      { scale: 'acc', label: 'accuracy %', values: (_u, ticks) => ticks.map((t) => `${t}`), grid: { stroke: '#eef0f4' } },
      { scale: 'loss', side: 1, label: 'loss', grid: { show: false } },
    ],
    series: [
      { label: 'round' },
      { label: 'accuracy', scale: 'acc', stroke: '#3567e0', width: 2.5, fill: 'rgba(53,103,224,0.08)', points: { size: 6 }, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)}%`) },
      { label: 'loss', scale: 'loss', stroke: '#e08a35', width: 2, dash: [6, 4], points: { size: 5 }, value: (_u, v) => (v == null ? '–' : v.toFixed(3)) },
      { label: 'failed round', scale: 'acc', stroke: '#c0392b', width: 0, paths: () => null, points: { show: true, size: 11, stroke: '#c0392b', fill: '#c0392b' }, value: (_u, v) => (v == null ? '–' : 'failed') },
      { label: 'centralized (same data)', scale: 'acc', stroke: '#1f9d6a', width: 1.5, dash: [3, 3], points: { show: false }, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)}%`) },
    ],
  });

  const width = () => Math.max(280, el.clientWidth || 600);
  let last: uPlot.AlignedData = [[], [], [], [], []];
  new ResizeObserver(() => plot?.setSize({ width: width(), height: 240 })).observe(el);

  return {
    set(points, reference) {
      const sorted = [...points].sort((a, b) => a.round - b.round);
      // A failed round leaves the model as it was: its marker sits at the last accuracy before it.
      let lastAcc = 0;
      const failed = sorted.map((p) => {
        if (p.accuracy !== undefined) lastAcc = p.accuracy * 100;
        return p.failed !== undefined ? lastAcc : null;
      });
      last = [
        sorted.map((p) => p.round),
        sorted.map((p) => (p.accuracy === undefined ? null : p.accuracy * 100)),
        sorted.map((p) => (p.loss === undefined ? null : p.loss)),
        failed,
        sorted.map(() => (reference === undefined ? null : reference * 100)),
      ];
      if (sorted.length === 0) return;
      if (!plot) {
        empty.remove();
        plot = new uPlot(opts(width()), last, el);
      } else {
        plot.setData(last);
      }
      // The reference line (and its legend entry) only when it is known.
      if (plot.series[4]?.show !== (reference !== undefined)) plot.setSeries(4, { show: reference !== undefined });
    },
  };
}
