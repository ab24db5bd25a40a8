/**
 * Rényi-DP accountant for the Sampled Gaussian Mechanism (each round: every client is included with
 * probability q, its contribution has L2 sensitivity 1 after clipping, Gaussian noise of std σ is added).
 * No maintained npm package implements this, so it is written here after:
 *
 *  - Mironov 2017, "Rényi Differential Privacy" (composition: RDP adds up over steps);
 *  - Mironov, Talwar & Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", §3.3:
 *    for integer α,  A_α = Σ_{i=0..α} C(α,i) (1−q)^{α−i} q^i exp((i² − i) / (2σ²)),  RDP(α) = log(A_α)/(α − 1);
 *  - Balle et al. 2020, "Hypothesis Testing Interpretations and Rényi Differential Privacy", Thm 21 (the
 *    conversion TF-Privacy and Opacus use):  ε = RDP(α) + log((α−1)/α) − (log δ + log α)/(α − 1),
 *    minimised over the orders.
 *
 * Only integer orders are used (2..64, 128, 256, 512), which gives the same or a slightly larger (safe) ε
 * than accountants that also try fractional orders. The tests check it against TF-Privacy's published values.
 */

/** The orders used by default: integers 2..64 and 128, 256, 512. */
export const DEFAULT_RDP_ORDERS: readonly number[] = [...Array.from({ length: 63 }, (_, i) => i + 2), 128, 256, 512];

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** log A_α for integer α ≥ 2 and 0 < q < 1, in log space (Mironov et al. 2019, §3.3). */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const term = logBinom + i * lq + (alpha - i) * l1q + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA;
}

/**
 * RDP of `steps` compositions of the Sampled Gaussian Mechanism at each integer order.
 * @example
 * ```ts
 * computeRdp(0.1, 2, 10, [5]); // [0.07737...] (TF-Privacy test value)
 * ```
 */
export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling rate q=${q} must lie in [0, 1]`);
  if (!(noiseMultiplier >= 0)) throw new RangeError(`noise multiplier ${noiseMultiplier} must be >= 0`);
  return orders.map((alpha) => {
    if (!Number.isInteger(alpha) || alpha < 2) throw new RangeError(`RDP order ${alpha} must be an integer >= 2`);
    if (q === 0) return 0;
    if (noiseMultiplier === 0) return Infinity;
    // q = 1: the plain Gaussian mechanism, RDP(α) = α / (2σ²) (Mironov 2017, Prop. 7).
    const rdp = q === 1 ? alpha / (2 * noiseMultiplier * noiseMultiplier) : logAInt(q, noiseMultiplier, alpha) / (alpha - 1);
    return rdp * steps;
  });
}

/**
 * The smallest ε over the orders for the given δ (Balle et al. 2020, Thm 21), and the order achieving it.
 * @example
 * ```ts
 * epsilonFromRdp(DEFAULT_RDP_ORDERS, computeRdp(0.01, 1.1, 10_000), 1e-5); // { epsilon: ..., order: ... }
 * ```
 */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): { epsilon: number; order: number } {
  if (orders.length !== rdp.length) throw new RangeError('orders and rdp must have the same length');
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta ${delta} must lie in (0, 1)`);
  let best = Infinity;
  let order = NaN;
  const logDelta = Math.log(delta);
  orders.forEach((a, i) => {
    const r = rdp[i]!;
    if (!Number.isFinite(r)) return;
    const eps = r + Math.log((a - 1) / a) - (logDelta + Math.log(a)) / (a - 1);
    if (eps < best) {
      best = eps;
      order = a;
    }
  });
  return { epsilon: Math.max(0, best), order };
}

/**
 * ε after `steps` rounds of the Sampled Gaussian Mechanism (sampling rate q, noise multiplier σ) for δ.
 * @example
 * ```ts
 * dpEpsilon({ q: 150 / 60000, noiseMultiplier: 1.3, steps: 6000, delta: 1e-5 }); // ≈ 0.7242 (TF-Privacy)
 * ```
 */
export function dpEpsilon(p: { q: number; noiseMultiplier: number; steps: number; delta: number; orders?: readonly number[] }): number {
  const orders = p.orders ?? DEFAULT_RDP_ORDERS;
  return epsilonFromRdp(orders, computeRdp(p.q, p.noiseMultiplier, p.steps, orders), p.delta).epsilon;
}
