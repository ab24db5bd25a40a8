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
export declare const DEFAULT_RDP_ORDERS: readonly number[];
/**
 * RDP of `steps` compositions of the Sampled Gaussian Mechanism at each integer order.
 * @example
 * ```ts
 * computeRdp(0.1, 2, 10, [5]); // [0.07737...] (TF-Privacy test value)
 * ```
 */
export declare function computeRdp(q: number, noiseMultiplier: number, steps: number, orders?: readonly number[]): number[];
/**
 * The smallest ε over the orders for the given δ (Balle et al. 2020, Thm 21), and the order achieving it.
 * @example
 * ```ts
 * epsilonFromRdp(DEFAULT_RDP_ORDERS, computeRdp(0.01, 1.1, 10_000), 1e-5); // { epsilon: ..., order: ... }
 * ```
 */
export declare function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): {
    epsilon: number;
    order: number;
};
/**
 * ε after `steps` rounds of the Sampled Gaussian Mechanism (sampling rate q, noise multiplier σ) for δ.
 * @example
 * ```ts
 * dpEpsilon({ q: 150 / 60000, noiseMultiplier: 1.3, steps: 6000, delta: 1e-5 }); // ≈ 0.7242 (TF-Privacy)
 * ```
 */
export declare function dpEpsilon(p: {
    q: number;
    noiseMultiplier: number;
    steps: number;
    delta: number;
    orders?: readonly number[];
}): number;
