/**
 * The L2 norm and largest magnitude of what a frame decodes to, read straight from its payload (int8 and top-k
 * blocks through their scales, no f32 copy): what a server needs to bound an update before it folds it.
 */
import { parseFrame, type ParsedFrame, type ParsedTensor } from './frame-parse.js';
import type { DecodeFrameOptions } from './frame-header.js';
import { int4Stats } from './quantize-int4.js';

/** Sum of squares and largest |value| over every tensor of a frame. */
export interface FrameStats {
  sumSq: number;
  maxAbs: number;
}

/**
 * Validates `bytes` like `decodeFrame` (header, sizes, finiteness, scales; `NON_FINITE` for NaN or Infinity)
 * and returns the exact sum of squares and largest magnitude of its decoded values, over all its tensors.
 * @example
 * ```ts
 * const { sumSq, maxAbs } = await frameStats(frame, { compressor: nodeZlibCompressor });
 * if (Math.sqrt(sumSq) > maxUpdateNorm) refuse();
 * ```
 */
export async function frameStats(bytes: Uint8Array, opts: DecodeFrameOptions = {}): Promise<FrameStats> {
  return parsedStats(await parseFrame(bytes, opts));
}

/**
 * {@link frameStats} of a frame already parsed (the server parses an update once, screens it, then folds it).
 * @example
 * ```ts
 * const parsed = await parseFrame(frame, { expect: layout, compressor });
 * const { sumSq, maxAbs } = parsedStats(parsed);
 * ```
 */
export function parsedStats(parsed: ParsedFrame): FrameStats {
  let sumSq = 0;
  let maxAbs = 0;
  for (const t of parsed.tensors) {
    const s = t.encoding === 'f32' ? f32Stats(t.values) : t.encoding === 'int4' ? int4Stats(t.n, t.blockSize, t.scales, t.packed) : blockStats(t);
    sumSq += s.sumSq;
    if (s.maxAbs > maxAbs) maxAbs = s.maxAbs;
  }
  return { sumSq, maxAbs };
}

// Small sync functions of their own, so the JIT compiles each as one tight loop.
function f32Stats(x: Float32Array): FrameStats {
  let sumSq = 0;
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    sumSq += v * v;
    const a = v < 0 ? -v : v;
    if (a > maxAbs) maxAbs = a;
  }
  return { sumSq, maxAbs };
}

function blockStats(t: Extract<ParsedTensor, { encoding: 'int8' | 'topk' }>): FrameStats {
  const count = t.encoding === 'int8' ? t.n : t.k;
  const { q, scales, blockSize } = t;
  let sumSq = 0;
  let maxAbs = 0;
  for (let b = 0, start = 0; start < count; b++, start += blockSize) {
    const end = start + blockSize < count ? start + blockSize : count;
    let qq = 0;
    let qm = 0;
    for (let i = start; i < end; i++) {
      const v = q[i]!;
      qq += v * v;
      const a = v < 0 ? -v : v;
      if (a > qm) qm = a;
    }
    const s = scales[b]!;
    sumSq += s * s * qq;
    if (s * qm > maxAbs) maxAbs = s * qm;
  }
  return { sumSq, maxAbs };
}
