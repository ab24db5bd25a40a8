/**
 * What the robust defaults learn from a round: the median claimed `numExamples` and the median L2 norm of the
 * updates combiners decoded (refused ones included, so that a real shift of honest norms is seen even in a
 * round the bound refused). Combiners summarise their own updates ({@link UpdateStats}); the controller merges
 * the summaries ({@link mergeUpdateStats}) and derives the next round's caps from them (round/update-bounds.ts).
 * A median moves only when half of the updates move, so one hostile client cannot raise the caps.
 */

/** One partial's (or one round's) summary: `n` updates, their median claim and median norm. */
export interface UpdateStatsSummary {
  n: number;
  claimMedian: number;
  normMedian: number;
}

/**
 * The median of `xs` (mean of the two middle values for an even count); NaN when empty.
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The claims and norms of the updates one combiner decoded for one partial.
 * @example
 * ```ts
 * const stats = new UpdateStats();
 * stats.add(600, 1.2);
 * stats.summary(); // { n: 1, claimMedian: 600, normMedian: 1.2 }
 * ```
 */
export class UpdateStats {
  private readonly claims: number[] = [];
  private readonly norms: number[] = [];

  /** An update claiming `claim` examples, of L2 norm `norm`, was decoded. */
  add(claim: number, norm: number): void {
    if (!Number.isFinite(claim) || !Number.isFinite(norm)) return;
    this.claims.push(claim);
    this.norms.push(norm);
  }

  /** The summary for the wire, or undefined when no update was decoded. */
  summary(): UpdateStatsSummary | undefined {
    if (this.claims.length === 0) return undefined;
    return { n: this.claims.length, claimMedian: median(this.claims), normMedian: median(this.norms) };
  }
}

/**
 * Merges the combiners' summaries: for each quantity, the median of the partial medians weighted by their `n`
 * (the exact median with one combiner; with several, a value between their medians). Undefined when none.
 * @example
 * ```ts
 * mergeUpdateStats([{ n: 3, claimMedian: 600, normMedian: 1 }, { n: 1, claimMedian: 1e12, normMedian: 9 }]); // claimMedian 600
 * ```
 */
export function mergeUpdateStats(parts: ReadonlyArray<UpdateStatsSummary | undefined>): UpdateStatsSummary | undefined {
  const some = parts.filter((p): p is UpdateStatsSummary => p !== undefined && p.n > 0);
  if (some.length === 0) return undefined;
  const n = some.reduce((a, p) => a + p.n, 0);
  return { n, claimMedian: weightedMedian(some.map((p) => [p.claimMedian, p.n])), normMedian: weightedMedian(some.map((p) => [p.normMedian, p.n])) };
}

function weightedMedian(pairs: Array<[number, number]>): number {
  const s = pairs.sort((a, b) => a[0] - b[0]);
  const total = s.reduce((a, [, w]) => a + w, 0);
  let acc = 0;
  for (const [v, w] of s) {
    acc += w;
    if (acc * 2 >= total) return v;
  }
  return s[s.length - 1]![0];
}
