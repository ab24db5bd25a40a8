/**
 * The fold keys of `npm run bench -- rounds` (in this process, beside the fleet runs):
 *  - fold_ms_per_update: the combiner's per-update work on one thread for a 1M-parameter int8 + deflate update:
 *    the fold tools' `stats` (inflate + validate + norm, once) then `foldInto` (accumulate), median ms.
 *  - fold_ms_per_update_two_pass: the same update the way the combiner did it before (codec `frameStats`, then
 *    `foldInto`: inflated and validated twice), same run, for comparison.
 *  - fold_main_thread_ms_per_update: what is left on the event loop with the fold pool: `foldParsed` only.
 *  - fold_pool_updates_per_s: updates screened on the `FoldPool` (one worker per core) and folded here, as fast
 *    as they go, 2 parses in flight per worker.
 *  - accumulation_max_rel_error: 1,000 real deltas (the MLP + CNN fixture deltas with hidden units relabelled,
 *    int8-quantized as clients send them, weights 16..600 examples) folded into a Float32Array, against an
 *    exact reference (each term w * s * q is exact in float64; the terms summed in double-double arithmetic,
 *    Knuth's TwoSum). Normwise: max_i |acc_i - ref_i| / max_i |ref_i|. `_f64` the same for a Float64Array.
 *  - updates_per_s_per_combiner: the fleet runs' updates folded per second per combiner (median over the client
 *    counts; each row also in `results`), with this process's client load generator pushing the updates.
 */
import { readFileSync } from 'node:fs';
import { createRng, decodeFrame, encodeFrame, foldInto, foldParsed, frameStats, parseFrame, type NamedTensor, type ParsedFrame, type TensorSpec } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createFoldTools } from '../packages/server/src/strategy/fold-tools.js';
import { FoldPool } from '../packages/server/src/fold-pool/pool.js';
import { relabel, relabelIdentity } from './_tiles.js';
import { here, median, round1 } from './_fleet.js';

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** Per-update fold cost on one thread, on the pool, and what the pool leaves on the event loop. */
async function foldCost(layout: TensorSpec[], frames: Uint8Array[]) {
  const n = layout.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const acc = new Float32Array(n);
  const tools = createFoldTools({ layout, compressor: nodeZlibCompressor });
  // Interleaved (one of each per turn, after 4 warm-up turns) so both paths see the same load.
  const single: number[] = [];
  const twoPass: number[] = [];
  for (let i = 0; i < 40; i++) {
    const f = frames[i % frames.length]!.slice(); // a fresh frame object: no parse cached from an earlier turn
    let t0 = performance.now();
    await tools.stats(f);
    await tools.foldInto(acc, f, 1);
    if (i >= 4) single.push(performance.now() - t0);
    t0 = performance.now();
    await frameStats(f, { compressor: nodeZlibCompressor });
    await foldInto(acc, f, 1, { layout, compressor: nodeZlibCompressor });
    if (i >= 4) twoPass.push(performance.now() - t0);
  }
  const pool = new FoldPool();
  try {
    const pooled = createFoldTools({ layout, compressor: nodeZlibCompressor, parser: (f, l) => pool.parse(f, l) });
    await Promise.all(frames.map((f) => pooled.stats(f.slice()))); // workers started and warm
    const total = 60;
    const main: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (next < total) {
        const f = frames[next++ % frames.length]!.slice();
        await pooled.stats(f);
        const t1 = performance.now();
        await pooled.foldInto(acc, f, 1);
        main.push(performance.now() - t1);
      }
    };
    await Promise.all(Array.from({ length: pool.size * 2 }, lane));
    const s = (performance.now() - t0) / 1000;
    return { fold_ms_per_update: round(median(single), 2), fold_ms_per_update_two_pass: round(median(twoPass), 2), fold_main_thread_ms_per_update: round(median(main), 2), fold_pool_updates_per_s: round1(total / s), fold_pool_workers: pool.size };
  } finally {
    await pool.close();
  }
}

/** Adds `t` into the double-double (hi, lo) at i (Knuth's TwoSum: hi + lo carries the sum without rounding loss). */
function twoSumAdd(hi: Float64Array, lo: Float64Array, i: number, t: number): void {
  const a = hi[i]!;
  const s = a + t;
  const bb = s - a;
  lo[i] = lo[i]! + ((a - (s - bb)) + (t - bb));
  hi[i] = s;
}

function exactAdd(hi: Float64Array, lo: Float64Array, parsed: ParsedFrame, w: number): void {
  let off = 0;
  for (const t of parsed.tensors) {
    if (t.encoding !== 'int8') throw new Error('int8 frames expected');
    for (let i = 0; i < t.n; i++) twoSumAdd(hi, lo, off + i, w * t.scales[Math.floor(i / t.blockSize)]! * t.q[i]!);
    off += t.n;
  }
}

function normwise(acc: Float32Array | Float64Array, hi: Float64Array, lo: Float64Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < acc.length; i++) {
    const r = hi[i]! + lo[i]!;
    err = Math.max(err, Math.abs(acc[i]! - r));
    ref = Math.max(ref, Math.abs(r));
  }
  return err / ref;
}

/** Float32 vs float64 accumulation of 1,000 real int8 deltas against the exact sum. */
async function accumulationError(count = 1000) {
  const fixture = async (name: string) => decodeFrame(new Uint8Array(readFileSync(here(`./fixtures/${name}`))));
  const mlp = await fixture('mlp-delta.fwf');
  const cnn = await fixture('cnn-delta.fwf');
  const rng = createRng(7);
  const base = relabelIdentity(mlp, cnn);
  const layout = base.map(({ name, shape }) => ({ name, shape }));
  const n = base.reduce((a, t) => a + t.data.length, 0);
  const acc32 = new Float32Array(n);
  const acc64 = new Float64Array(n);
  const hi = new Float64Array(n);
  const lo = new Float64Array(n);
  for (let k = 0; k < count; k++) {
    const delta: NamedTensor[] = k === 0 ? base : relabel(mlp, cnn, rng);
    const parsed = await parseFrame(await encodeFrame(delta, { encoding: 'int8' }), { expect: layout });
    const w = 16 + Math.floor(rng.next() * 585);
    foldParsed(acc32, parsed, w);
    foldParsed(acc64, parsed, w);
    exactAdd(hi, lo, parsed, w);
  }
  return { accumulation_max_rel_error: normwise(acc32, hi, lo), accumulation_max_rel_error_f64: normwise(acc64, hi, lo), accumulation_deltas: count, accumulation_params: n };
}

/**
 * Every fold key of the rounds bench that is measured in this process.
 * @example
 * ```ts
 * const fold = await foldBench(LAYOUT, frames);
 * ```
 */
export async function foldBench(layout: TensorSpec[], frames: Uint8Array[]) {
  const cost = await foldCost(layout, frames);
  const acc = await accumulationError();
  console.log(
    `fold: ${cost.fold_ms_per_update} ms per 1M-param update on one thread (${cost.fold_ms_per_update_two_pass} ms inflating twice), ${cost.fold_main_thread_ms_per_update} ms left on the event loop with ${cost.fold_pool_workers} workers (${cost.fold_pool_updates_per_s} updates/s); ` +
      `accumulation error f32 ${acc.accumulation_max_rel_error.toExponential(2)}, f64 ${acc.accumulation_max_rel_error_f64.toExponential(2)}`,
  );
  return { ...cost, ...acc };
}

/** `updates_per_s_per_combiner` from the fleet runs' rows (median over client counts). */
export function combinerRate(results: ReadonlyArray<Record<string, unknown>>) {
  const rates = results.map((r) => r.updates_per_s as number).filter((x) => Number.isFinite(x));
  return { updates_per_s_per_combiner: rates.length ? round1(median(rates)) : null, updates_per_s_per_combiner_each: rates };
}
