// The per-round charts (uPlot, loaded by the page as the global `uPlot`). Rounds chart from their records;
// what a round's record lacks (refusals by reason, bytes, clients online) comes from the server's round ledger.
/** Round numbers are integers: the x axis ticks whole rounds only. */
const ROUND_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** A dashed red line at each failed round. */
function failedMarks(getFailed) {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = 'rgba(200, 0, 0, 0.7)';
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          for (const x of getFailed()) {
            const cx = u.valToPos(x, 'x', true);
            ctx.beginPath();
            ctx.moveTo(cx, u.bbox.top);
            ctx.lineTo(cx, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** One chart: re-created when its series change, else given new data. */
class Plot {
  constructor(el) {
    this.el = el;
    this.u = null;
    this.key = '';
    this.failed = [];
  }

  set(series, data, failed, axes) {
    this.failed = failed;
    const key = series.map((s) => s.label + ':' + (s.scale || 'y')).join('|');
    this.el.dataset.points = String(data[0].length);
    this.el.dataset.series = series.map((s) => s.label).join(',');
    if (this.u && key === this.key) {
      // setData schedules the redraw (with the failed-round marks); a redraw() here would run before the new scales.
      this.u.setData(data);
      return;
    }
    this.u?.destroy();
    this.key = key;
    const opts = {
      width: Math.max(320, this.el.clientWidth || 400),
      height: 190,
      scales: { x: { time: false } },
      series: [{ label: 'round' }, ...series.map((s, i) => ({ stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: true, size: 6 }, spanGaps: false, ...s }))],
      axes: [{ incrs: ROUND_STEPS }, ...(axes || [{}])],
      plugins: [failedMarks(() => this.failed)],
    };
    this.u = new uPlot(opts, data, this.el);
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(320, this.el.clientWidth || 400), height: 190 });
  }
}

const metricOf = (r, name) => {
  const v = r.validationMetrics?.[name] ?? r.trainMetrics?.[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** Seconds from a round's start to its commit (or, for other rounds, what the ledger measured). */
export function durationOf(r, row) {
  if (r.committedAt) return (r.committedAt + (r.timings?.commit ?? 0) - r.startedAt) / 1000;
  return row ? row.durationS : null;
}

/** The charts of the page, by element id. */
export class Charts {
  constructor(doc) {
    this.plots = {
      quality: new Plot(doc.getElementById('chart-quality')),
      updates: new Plot(doc.getElementById('chart-updates')),
      bytes: new Plot(doc.getElementById('chart-bytes')),
      duration: new Plot(doc.getElementById('chart-duration')),
      clients: new Plot(doc.getElementById('chart-clients')),
    };
    addEventListener('resize', () => Object.values(this.plots).forEach((p) => p.resize()));
  }

  /** Redraws every chart from the session's rounds (by round number) and the ledger (by round id). */
  render(rounds, ledger) {
    const rs = [...rounds].sort((a, b) => a.round - b.round);
    const xs = rs.map((r) => r.round);
    const failed = rs.filter((r) => r.status === 'failed' || r.status === 'aborted' || r.status === 'interrupted').map((r) => r.round);
    const row = (r) => ledger.get(r.id);
    const ok = (r) => r.status === 'committed';

    this.plots.quality.set(
      [{ label: 'accuracy', scale: 'acc', spanGaps: true }, { label: 'loss', scale: 'loss', spanGaps: true }],
      [xs, rs.map((r) => (ok(r) ? metricOf(r, 'accuracy') : null)), rs.map((r) => (ok(r) ? metricOf(r, 'loss') : null))],
      failed,
      [{ scale: 'acc' }, { scale: 'loss', side: 1, grid: { show: false } }],
    );

    const codes = [...new Set(rs.flatMap((r) => Object.keys(row(r)?.refused ?? {})))].sort();
    const untracked = rs.some((r) => !row(r) && r.partials?.some((p) => p.refused + p.refusedStale > 0));
    const refusedOf = (r, code) => row(r)?.refused?.[code] ?? (row(r) ? 0 : null);
    const updSeries = [{ label: 'counted' }, ...codes.map((c) => ({ label: 'refused ' + c })), ...(untracked ? [{ label: 'refused (reason not recorded)' }] : [])];
    const updData = [xs, rs.map((r) => r.updates), ...codes.map((c) => rs.map((r) => refusedOf(r, c))), ...(untracked ? [rs.map((r) => (row(r) ? null : (r.partials ?? []).reduce((n, p) => n + p.refused + p.refusedStale, 0)))] : [])];
    this.plots.updates.set(updSeries, updData, failed);

    const kib = (v) => (v === null || v === undefined ? null : v / 1024);
    this.plots.bytes.set(
      [{ label: 'in (KiB)' }, { label: 'out (KiB)' }, { label: 'in as float32 (KiB)', dash: [6, 4] }],
      [xs, rs.map((r) => kib(row(r)?.bytesIn)), rs.map((r) => kib(row(r)?.bytesOut)), rs.map((r) => kib(row(r)?.f32In))],
      failed,
    );
    this.plots.duration.set([{ label: 'seconds' }], [xs, rs.map((r) => durationOf(r, row(r)))], failed);
    this.plots.clients.set([{ label: 'online' }], [xs, rs.map((r) => row(r)?.clientsOnline ?? null)], failed);
  }
}
