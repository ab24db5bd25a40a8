/**
 * Randomness that must stay secret (DP noise, DP client sampling): drawn from the platform CSPRNG
 * (`node:crypto` `randomFillSync`), never from a seed anyone can read or guess. Gaussian samples use the
 * Box-Muller transform on 53-bit uniforms. (Floating-point sampling has known subtle leaks, Mironov 2012,
 * "On Significance of the Least Significant Bits for Differential Privacy"; out of scope here.)
 */
import { randomFillSync } from 'node:crypto';

const BATCH = 8192;

/**
 * `n` independent uniforms in the open interval (0, 1), 53 bits each, from the CSPRNG.
 * @example
 * ```ts
 * const [u] = secureUniforms(1); // 0 < u < 1
 * ```
 */
export function secureUniforms(n: number): Float64Array {
  const out = new Float64Array(n);
  const words = new Uint32Array(2 * Math.min(n, BATCH));
  for (let start = 0; start < n; start += BATCH) {
    const m = Math.min(BATCH, n - start);
    randomFillSync(words);
    // 27 + 26 bits -> k in [0, 2^53); (k + 0.5) / 2^53 never hits 0 or 1.
    for (let i = 0; i < m; i++) out[start + i] = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6) + 0.5) / 9007199254740992;
  }
  return out;
}

/**
 * Adds N(0, std²) noise from the CSPRNG to every entry of `out`, in place.
 * @example
 * ```ts
 * addSecureGaussian(sum, noiseMultiplier * clipNorm);
 * ```
 */
export function addSecureGaussian(out: Float32Array, std: number): void {
  for (let start = 0; start < out.length; start += BATCH) {
    const m = Math.min(BATCH, out.length - start);
    const u = secureUniforms(m + (m % 2));
    for (let i = 0; i < m; i += 2) {
      const r = Math.sqrt(-2 * Math.log(u[i]!)) * std;
      const t = 2 * Math.PI * u[i + 1]!;
      out[start + i] = out[start + i]! + r * Math.cos(t);
      if (i + 1 < m) out[start + i + 1] = out[start + i + 1]! + r * Math.sin(t);
    }
  }
}
