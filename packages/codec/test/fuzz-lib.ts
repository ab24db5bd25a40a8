/**
 * The frame fuzzer shared by `fuzz.test.ts` (a short CI run) and `fuzz.ts` (`npm run fuzz`, >= 1,000,000 frames).
 * It mutates valid frames (bit flips, truncation, huge length fields, structured manifest edits, poisoned body
 * values, zip bombs) and checks that every one either decodes to finite tensors matching their shapes, or fails
 * with a FedError; and that `foldInto` leaves the accumulator untouched whenever it fails.
 */
import { decodeFrame } from '../src/frame.js';
import { encodeFrame } from '../src/frame-encode.js';
import { foldInto } from '../src/fold.js';
import { fflateCompressor } from '../src/compress.js';
import { isFedError } from '../src/errors.js';
import type { Compressor, NamedTensor, TensorSpec } from '../src/types.js';
import { prng, rawFrame, splitFrame } from './raw-frame.js';

export interface FuzzSeed {
  label: string;
  frame: Uint8Array;
  layout: TensorSpec[];
}

export interface FuzzStats {
  frames: number;
  valid: number;
  rejected: Record<string, number>;
  /** Codes `foldInto` (which also checks names and shapes against the layout) failed with. */
  foldRejected: Record<string, number>;
  crashes: { seed: number; label: string; error: string }[];
  /** Slowest single decode+fold, ms. */
  slowestMs: number;
}

const tensors = (): NamedTensor[] => [
  { name: 'w0', shape: [16, 8], data: Float32Array.from({ length: 128 }, (_, i) => Math.sin(i * 1.3) * 0.05) },
  { name: 'w1', shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => i - 4) },
  { name: 'step', shape: [], data: new Float32Array([3]) },
  { name: 'empty', shape: [0], data: new Float32Array(0) },
  { name: 'w2', shape: [300], data: Float32Array.from({ length: 300 }, (_, i) => (i % 17 === 0 ? 1 : 0.001 * i)) },
];

/** Valid frames of every encoding, with and without deflate. */
export async function makeSeeds(): Promise<FuzzSeed[]> {
  const ts = tensors();
  const layout = ts.map(({ name, shape }) => ({ name, shape }));
  const seeds: FuzzSeed[] = [];
  for (const encoding of ['f32', 'int8', 'int4', 'topk'] as const) {
    for (const deflate of [false, true]) {
      const frame = await encodeFrame(ts, { encoding, blockSize: encoding === 'int8' ? 32 : 256, topkFraction: 0.2, compressor: deflate ? fflateCompressor : undefined });
      seeds.push({ label: `${encoding}${deflate ? '+deflate' : ''}`, frame, layout });
    }
  }
  return seeds;
}

const NASTY_U32 = [0, 1, 7, 8, 15, 16, 17, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const NASTY_VALUES: unknown[] = [-1, 0, 1, 3, 255, 256, 257, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1e300, 1.5, 'x', '', null, true, [], {}, [1, 2], [2 ** 32, 2 ** 32]];
const FIELDS = ['name', 'shape', 'dtype', 'encoding', 'blockSize', 'k', 'byteOffset', 'byteLength'];
const POISON_F32 = [NaN, Infinity, -Infinity, -1, 3e38, 1e-45, -0];

let bomb: Uint8Array | undefined;

function pick<T>(rnd: () => number, a: readonly T[]): T {
  return a[Math.floor(rnd() * a.length)]!;
}

/** One mutation of `frame`; `rnd` is a seeded PRNG. */
export function mutate(frame: Uint8Array, rnd: () => number): Uint8Array {
  try {
    return mutateOnce(frame, rnd);
  } catch {
    // Structured edits need a parseable manifest; an already-mangled frame gets a bit flip instead.
    const f = frame.slice();
    if (f.length) f[Math.floor(rnd() * f.length)]! ^= 1 << Math.floor(rnd() * 8);
    return f;
  }
}

function mutateOnce(frame: Uint8Array, rnd: () => number): Uint8Array {
  const f = frame.slice();
  const kind = Math.floor(rnd() * 10);
  switch (kind) {
    case 0: {
      const flips = 1 + Math.floor(rnd() * 8);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(rnd() * f.length);
        f[at] = f[at]! ^ (1 << Math.floor(rnd() * 8));
      }
      return f;
    }
    case 1: {
      f[Math.floor(rnd() * Math.min(16, f.length))] = Math.floor(rnd() * 256);
      return f;
    }
    case 2: {
      const dv = new DataView(f.buffer);
      const v = rnd() < 0.7 ? pick(rnd, NASTY_U32) : Math.floor(rnd() * 2 ** 32);
      dv.setUint32(rnd() < 0.5 ? 8 : 12, rnd() < 0.2 ? f.length + Math.floor(rnd() * 16) - 8 : v, true);
      return f;
    }
    case 3:
      return f.subarray(0, Math.floor(rnd() * f.length));
    case 4: {
      const extra = Uint8Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
      const g = new Uint8Array(f.length + extra.length);
      g.set(f);
      g.set(extra, f.length);
      return g;
    }
    case 5:
    case 6: {
      // Structured: edit the manifest, keep the body, fix up the length fields.
      const { manifest, body, flags } = splitFrame(f);
      const ts = manifest.tensors;
      const r = rnd();
      if (r < 0.6 && ts.length) {
        const t = pick(rnd, ts);
        const field = pick(rnd, FIELDS);
        if (rnd() < 0.1) delete t[field];
        else if (typeof t[field] === 'number' && rnd() < 0.5) t[field] = (t[field] as number) + pick(rnd, [-8, -4, -1, 1, 4, 8, 256]);
        else t[field] = pick(rnd, NASTY_VALUES);
      } else if (r < 0.7 && ts.length) {
        ts.push({ ...pick(rnd, ts) });
      } else if (r < 0.8 && ts.length > 1) {
        const i = Math.floor(rnd() * ts.length);
        const j = Math.floor(rnd() * ts.length);
        [ts[i], ts[j]] = [ts[j]!, ts[i]!];
      } else if (r < 0.9 && ts.length) {
        ts.splice(Math.floor(rnd() * ts.length), 1);
      } else {
        (manifest as Record<string, unknown>)[pick(rnd, ['extra', 'tensors', '__proto__'])] = pick(rnd, NASTY_VALUES);
      }
      return rawFrame({ manifest, body, flags });
    }
    case 7: {
      // Poison an aligned float in the (stored) body: scales, f32 values, or varints.
      const dv = new DataView(f.buffer);
      const m = dv.getUint32(8, true);
      const bodyOffset = Math.ceil((16 + m) / 8) * 8;
      if (f.length - bodyOffset >= 4) {
        const at = bodyOffset + 4 * Math.floor(rnd() * Math.floor((f.length - bodyOffset) / 4));
        dv.setFloat32(at, pick(rnd, POISON_F32), true);
      }
      return f;
    }
    case 8: {
      // Deflated body replaced by a bomb (or by garbage when the frame was stored).
      const { manifest } = splitFrame(f);
      return rawFrame({ manifest, body: bomb ?? Uint8Array.from([0xff, 0xff, 0xff]), flags: 1, bodyBytes: new DataView(f.buffer).getUint32(12, true) });
    }
    default: {
      let g: Uint8Array = f;
      const n = 2 + Math.floor(rnd() * 2);
      for (let i = 0; i < n; i++) g = mutate(g, rnd);
      return g;
    }
  }
}

/** Pre-computes the bomb (256 KiB of zeros, ~260 bytes deflated: 100x more than any seed body) so `mutate` stays synchronous. */
export async function prepareFuzz(): Promise<void> {
  bomb = await fflateCompressor.deflate(new Uint8Array(256 * 1024));
}

/** Runs `count` mutated frames from `seeds`, starting at `seed`. Never throws for a frame; collects crashes. */
export async function runFuzz(seeds: FuzzSeed[], count: number, seed: number, opts: { compressors?: Compressor[]; fold?: boolean; onProgress?: (s: FuzzStats) => void } = {}): Promise<FuzzStats> {
  await prepareFuzz();
  const compressors = opts.compressors ?? [fflateCompressor];
  const stats: FuzzStats = { frames: 0, valid: 0, rejected: {}, foldRejected: {}, crashes: [], slowestMs: 0 };
  const accBase = Float32Array.from({ length: 128 + 8 + 1 + 0 + 300 }, (_, i) => i * 0.5);
  const acc = new Float32Array(accBase.length);
  for (let i = 0; i < count; i++) {
    const frameSeed = (seed + i) >>> 0;
    const rnd = prng(frameSeed);
    const s = seeds[frameSeed % seeds.length]!;
    const m = mutate(s.frame, rnd);
    const compressor = compressors[frameSeed % compressors.length]!;
    const t0 = performance.now();
    try {
      const out = await decodeFrame(m, { compressor });
      for (const t of out) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (n !== t.data.length) throw new Error(`decoded ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
        for (const v of t.data) if (!Number.isFinite(v)) throw new Error(`decoded ${t.name} holds ${v}`);
      }
      stats.valid++;
    } catch (e) {
      if (isFedError(e)) stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
      else stats.crashes.push({ seed: frameSeed, label: s.label, error: String((e as Error)?.stack ?? e) });
    }
    if (opts.fold !== false) {
      acc.set(accBase);
      try {
        await foldInto(acc, m, 0.5, { layout: s.layout, compressor });
      } catch (e) {
        if (isFedError(e)) stats.foldRejected[e.code] = (stats.foldRejected[e.code] ?? 0) + 1;
        else stats.crashes.push({ seed: frameSeed, label: s.label, error: `fold: ${String((e as Error)?.stack ?? e)}` });
        for (let j = 0; j < acc.length; j++) {
          if (acc[j] !== accBase[j]) {
            stats.crashes.push({ seed: frameSeed, label: s.label, error: `fold failed (${String(e)}) but changed acc[${j}]` });
            break;
          }
        }
      }
    }
    const dt = performance.now() - t0;
    if (dt > stats.slowestMs) stats.slowestMs = dt;
    stats.frames++;
    if (opts.onProgress && stats.frames % 50_000 === 0) opts.onProgress(stats);
  }
  return stats;
}
