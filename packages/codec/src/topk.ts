/**
 * Top-k sparsification of an update, with an error-feedback residual (Stich, Cordonnier & Jaggi,
 * "Sparsified SGD with Memory", NeurIPS 2018; Lin et al., "Deep Gradient Compression", ICLR 2018):
 * what a client does not send this round is added to its next update, so nothing is lost, only delayed.
 *
 * On the wire (see `frame.ts`) a top-k tensor carries its k values as block-wise int8 (like `int8`, blocks
 * over the k selected values in index order) and its indices as LEB128 varints of the gaps
 * `idx[j] - idx[j-1] - 1` (with `idx[-1] = -1`), so indices are strictly increasing by construction.
 */
import { fedError } from './errors.js';
import type { NamedTensor } from './types.js';

/** Selected entries, indices strictly increasing. */
export interface TopK {
  indices: Uint32Array;
  values: Float32Array;
}

/**
 * Selects the `k` entries of largest magnitude, returned in index order. Ties at the threshold are broken by
 * lower index first, so the result is deterministic. Runs in O(n): a two-pass radix select over the float32
 * bit patterns of |x| (for non-negative floats, bit order equals numeric order). NaN/Infinity -> `NON_FINITE`.
 *
 * @example
 * ```ts
 * selectTopK(new Float32Array([0.1, -3, 2, 0]), 2); // { indices: [1, 2], values: [-3, 2] }
 * ```
 */
export function selectTopK(x: Float32Array, k: number): TopK {
  const n = x.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw fedError('BAD_CONFIG', `top-k: k must be an integer in [0, ${n}], got ${k}`);
  const bits = new Uint32Array(x.buffer, x.byteOffset, n);
  const hist = new Uint32Array(65536);
  for (let i = 0; i < n; i++) {
    const b = bits[i]! & 0x7fffffff;
    if (b >= 0x7f800000) throw fedError('NON_FINITE', `NaN or Infinity at index ${i}`);
    hist[b >>> 16]!++;
  }
  const indices = new Uint32Array(k);
  const values = new Float32Array(k);
  if (k === 0) return { indices, values };
  if (k === n) {
    for (let i = 0; i < n; i++) indices[i] = i;
    values.set(x);
    return { indices, values };
  }
  // Pass 1: the high 16 bits of the k-th largest |x|.
  let need = k;
  let hi = 0x7f7f;
  for (; hi > 0; hi--) {
    const c = hist[hi]!;
    if (c >= need) break;
    need -= c;
  }
  // Pass 2: its low 16 bits, among values in that bucket.
  hist.fill(0);
  for (let i = 0; i < n; i++) {
    const b = bits[i]! & 0x7fffffff;
    if (b >>> 16 === hi) hist[b & 0xffff]!++;
  }
  let lo = 0xffff;
  for (; lo > 0; lo--) {
    const c = hist[lo]!;
    if (c >= need) break;
    need -= c;
  }
  const t = ((hi << 16) | lo) >>> 0;
  // Pass 3: everything above the threshold, plus the first `need` equal to it.
  let ties = need;
  let j = 0;
  for (let i = 0; i < n; i++) {
    const b = bits[i]! & 0x7fffffff;
    if (b > t || (b === t && ties-- > 0)) {
      indices[j] = i;
      values[j] = x[i]!;
      j++;
    }
  }
  return { indices, values };
}

/** Bytes the gap varints of `indices` (strictly increasing) take. */
export function indexGapsLength(indices: Uint32Array): number {
  let len = 0;
  let prev = -1;
  for (let j = 0; j < indices.length; j++) {
    const idx = indices[j]!;
    let g = idx - prev - 1;
    if (g < 0) throw fedError('BAD_CONFIG', `top-k indices must be strictly increasing (index ${j})`);
    prev = idx;
    len++;
    while (g >= 0x80) {
      g = Math.floor(g / 128);
      len++;
    }
  }
  return len;
}

/** Writes the gap varints of `indices` into `out` at `off`; returns the end offset. */
export function writeIndexGaps(indices: Uint32Array, out: Uint8Array, off: number): number {
  let p = off;
  let prev = -1;
  for (let j = 0; j < indices.length; j++) {
    const idx = indices[j]!;
    let g = idx - prev - 1;
    prev = idx;
    while (g >= 0x80) {
      out[p++] = (g & 0x7f) | 0x80;
      g = Math.floor(g / 128);
    }
    out[p++] = g;
  }
  return p;
}

/**
 * Reads exactly `k` gap varints from `bytes[off..end)` into `out`, validating that every index is `< n`,
 * that every varint is minimal (canonical) and at most 5 bytes, and that the varints fill the range exactly.
 * Throws `BAD_FRAME`; never reads outside `[off, end)`.
 */
export function readIndexGaps(bytes: Uint8Array, off: number, end: number, k: number, n: number, out: Uint32Array): void {
  let p = off;
  let prev = -1;
  for (let j = 0; j < k; j++) {
    if (p >= end) throw fedError('BAD_FRAME', `top-k indices end after ${j} of ${k}`);
    let byte = bytes[p++]!;
    let g = byte;
    if (byte >= 0x80) {
      g = byte & 0x7f;
      let mul = 128;
      for (let len = 1; ; len++) {
        if (len === 5) throw fedError('BAD_FRAME', `top-k index varint ${j} is longer than 5 bytes`);
        if (p >= end) throw fedError('BAD_FRAME', `top-k index varint ${j} is truncated`);
        byte = bytes[p++]!;
        g += (byte & 0x7f) * mul;
        if (byte < 0x80) break;
        mul *= 128;
      }
      if (byte === 0) throw fedError('BAD_FRAME', `top-k index varint ${j} is not minimal`);
    }
    const idx = prev + 1 + g;
    if (idx >= n) throw fedError('BAD_FRAME', `top-k index ${idx} is out of range (tensor has ${n} values)`);
    out[j] = idx;
    prev = idx;
  }
  if (p !== end) throw fedError('BAD_FRAME', `${end - p} stray bytes after the top-k indices`);
}

/**
 * Error-feedback residual for top-k (or int8) updates. Before encoding, add the residual carried from the
 * previous round (`compensate`); after encoding, keep what the frame did not carry (`record`).
 * The residual is keyed by tensor name; `residual()` / `ErrorFeedback.from()` persist it (e.g. in IndexedDB).
 *
 * @example
 * ```ts
 * const ef = new ErrorFeedback();
 * const corrected = ef.compensate(delta);                       // delta + residual
 * const frame = await encodeFrame(corrected, { encoding: 'topk', topkFraction: 0.1, compressor });
 * ef.record(corrected, await decodeFrame(frame, { compressor })); // residual = corrected - sent
 * ```
 */
export class ErrorFeedback {
  private readonly res = new Map<string, { shape: number[]; data: Float32Array }>();

  /** Rebuilds an ErrorFeedback from a persisted residual. */
  static from(residual: NamedTensor[]): ErrorFeedback {
    const ef = new ErrorFeedback();
    for (const t of residual) ef.res.set(t.name, { shape: [...t.shape], data: Float32Array.from(t.data) });
    return ef;
  }

  /** Returns `delta + residual` as new tensors (tensors without a residual are copied as is). */
  compensate(delta: NamedTensor[]): NamedTensor[] {
    return delta.map((t) => {
      const data = Float32Array.from(t.data);
      const r = this.res.get(t.name);
      if (r) {
        if (r.data.length !== data.length) {
          throw fedError('SHAPE_MISMATCH', `residual for ${t.name} has ${r.data.length} values, the update ${data.length}; reset() after a layout change`);
        }
        const rd = r.data;
        for (let i = 0; i < data.length; i++) data[i] = data[i]! + rd[i]!;
      }
      return { name: t.name, shape: [...t.shape], data };
    });
  }

  /** Stores `compensated - sent` as the residual (`sent` = the decoded frame that was actually sent). */
  record(compensated: NamedTensor[], sent: NamedTensor[]): void {
    const byName = new Map(sent.map((t) => [t.name, t]));
    this.res.clear();
    for (const c of compensated) {
      const s = byName.get(c.name);
      if (!s || s.data.length !== c.data.length) throw fedError('SHAPE_MISMATCH', `sent frame lacks tensor ${c.name} or its size differs`);
      const d = new Float32Array(c.data.length);
      const cd = c.data;
      const sd = s.data;
      for (let i = 0; i < d.length; i++) d[i] = cd[i]! - sd[i]!;
      this.res.set(c.name, { shape: [...c.shape], data: d });
    }
  }

  /** The current residual (copies), for persistence. */
  residual(): NamedTensor[] {
    return [...this.res].map(([name, r]) => ({ name, shape: [...r.shape], data: r.data.slice() }));
  }

  /** Forgets the residual (e.g. when the model layout changes). */
  reset(): void {
    this.res.clear();
  }
}
