/**
 * Example-weighted metric means: the one helper every tier uses to average what clients report (a combiner's
 * training metrics per partial, the reducer's merge of partials, validation results across combiners).
 */
import type { Metrics } from '@fedweb/codec';

/**
 * A running, example-weighted mean per metric name. Names may differ between reports: each name is averaged
 * over the weight of the reports that carry it. Non-finite means are dropped from {@link MetricMeans.means}.
 * @example
 * ```ts
 * const m = new MetricMeans();
 * m.add({ loss: 0.5 }, 100);
 * m.add({ loss: 0.2 }, 300);
 * m.means(); // { loss: 0.275 }
 * ```
 */
export class MetricMeans {
  private sumsByName: Record<string, number> = {};
  private weightsByName: Record<string, number> = {};

  /** Adds one report of means, weighted by `weight` (its examples). */
  add(metrics: Metrics, weight: number): void {
    for (const [name, value] of Object.entries(metrics)) {
      this.sumsByName[name] = (this.sumsByName[name] ?? 0) + value * weight;
      this.weightsByName[name] = (this.weightsByName[name] ?? 0) + weight;
    }
  }

  /** Adds already weighted sums (value x examples, summed) that stand for `weight` examples. */
  addSums(sums: Record<string, number>, weight: number): void {
    for (const [name, sum] of Object.entries(sums)) {
      this.sumsByName[name] = (this.sumsByName[name] ?? 0) + sum;
      this.weightsByName[name] = (this.weightsByName[name] ?? 0) + weight;
    }
  }

  /** The weighted sums so far (what a `validate.partial` carries). */
  sums(): Record<string, number> {
    return { ...this.sumsByName };
  }

  /** The weighted means; names with no weight, and non-finite means, are left out. */
  means(): Metrics {
    const out: Metrics = {};
    for (const [name, sum] of Object.entries(this.sumsByName)) {
      const w = this.weightsByName[name] ?? 0;
      if (w > 0 && Number.isFinite(sum / w)) out[name] = sum / w;
    }
    return out;
  }

  /** True before the first report. */
  get empty(): boolean {
    return Object.keys(this.sumsByName).length === 0;
  }
}
