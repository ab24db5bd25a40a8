/**
 * The host side of {@link FoldTools}: combiners build one per round from the global layout and hand it to
 * `strategy.foldUpdate`, so strategies never touch compressors, frame parsing or limits themselves.
 */
import { checkFrameLayout, decodeParsed, fedError, foldParsed, parseFrame, parsedStats, readFrameHeader } from '@fedweb/codec';
import type { Compressor, FrameLimits, FrameStats, NamedTensor, ParsedFrame, TensorSpec } from '@fedweb/codec';
import type { FoldTools } from './types.js';

/** Parses (inflates and validates) a frame elsewhere, e.g. on a worker thread (the combiner's `FoldPool`). */
export type FrameParser = (frame: Uint8Array, limits: Partial<FrameLimits> | undefined) => Promise<{ parsed: ParsedFrame; stats: FrameStats }>;

export interface FoldToolsOptions {
  /** The global model's tensors, in order. */
  layout: TensorSpec[];
  /** The inflater for deflated frames (`nodeZlibCompressor` on the server). */
  compressor?: Compressor;
  limits?: Partial<FrameLimits>;
  /**
   * Prefixes of extra tensors `decode` accepts besides the layout, each as `<prefix><layout name>` with the
   * layout tensor's shape (SCAFFOLD's control-variate delta `c/<name>`). Default `['c/']`.
   */
  extraPrefixes?: readonly string[];
  /**
   * Parses frames off this thread (the combiner's worker pool). A parser failure of its own (`WORKER_DIED`,
   * `TIMEOUT`, `UNAVAILABLE`) falls back to parsing here; a frame's own error is the answer.
   */
  parser?: FrameParser;
}

const PARSER_FAILURES = new Set(['WORKER_DIED', 'TIMEOUT', 'UNAVAILABLE', 'INTERNAL', 'BAD_MESSAGE']);

/**
 * Builds the {@link FoldTools} a combiner hands to `foldUpdate`, on top of `@fedweb/codec`'s `parseFrame`,
 * `parsedStats`, `foldParsed` and `decodeParsed`. Each frame is inflated and validated ONCE: the parse is kept
 * (by frame object, weakly) between the admission screen's `stats`, the fold and any `decode`. `decode` checks
 * names, shapes and finiteness against the layout and returns the layout tensors first (layout order), then the
 * accepted extras. The accumulation runs on the calling thread in call order, so with or without a `parser`
 * the sums are identical.
 *
 * @example
 * ```ts
 * import { nodeZlibCompressor } from '@fedweb/codec/node';
 * const tools = createFoldTools({ layout, compressor: nodeZlibCompressor });
 * await strategy.foldUpdate(options, partial, update, tools, ctx);
 * ```
 */
export function createFoldTools(opts: FoldToolsOptions): FoldTools {
  const { layout, compressor, limits, parser } = opts;
  const prefixes = opts.extraPrefixes ?? ['c/'];
  const specs = new Map(layout.map((s) => [s.name, s]));
  const parseOpts = { ...(compressor ? { compressor } : {}), ...(limits ? { limits } : {}) };
  const parses = new WeakMap<Uint8Array, Promise<{ parsed: ParsedFrame; stats?: FrameStats }>>();

  const parseHere = async (frame: Uint8Array) => ({ parsed: await parseFrame(frame, parseOpts) });
  const parsedOf = (frame: Uint8Array): Promise<{ parsed: ParsedFrame; stats?: FrameStats }> => {
    let p = parses.get(frame);
    if (!p) {
      p = parser
        ? parser(frame, limits).catch((e: unknown) => {
            if (PARSER_FAILURES.has((e as { code?: string })?.code ?? '')) return parseHere(frame);
            throw e;
          })
        : parseHere(frame);
      parses.set(frame, p);
    }
    return p;
  };

  return {
    async foldInto(acc, frame, weight) {
      if (!Number.isFinite(weight)) throw fedError('BAD_MESSAGE', `fold weight ${weight} is not finite`);
      checkFrameLayout(readFrameHeader(frame, limits), layout);
      const { parsed } = await parsedOf(frame);
      foldParsed(acc, parsed, weight);
    },
    async decode(frame) {
      checkNamesAndShapes(readFrameHeader(frame, limits).tensors, layout, specs, prefixes);
      return checkAgainstLayout(decodeParsed((await parsedOf(frame)).parsed), layout, specs, prefixes);
    },
    async stats(frame) {
      checkNamesAndShapes(readFrameHeader(frame, limits).tensors, layout, specs, prefixes);
      const { parsed, stats } = await parsedOf(frame);
      return stats ?? parsedStats(parsed);
    },
  };
}

/** The names and shapes `decode` accepts (the layout, each once, plus prefixed extras), from a frame's header. */
function checkNamesAndShapes(entries: ReadonlyArray<{ name: string; shape: number[] }>, layout: TensorSpec[], specs: Map<string, TensorSpec>, prefixes: readonly string[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw fedError('SHAPE_MISMATCH', `tensor '${e.name}' appears twice in the update`);
    seen.add(e.name);
    const prefix = specs.has(e.name) ? '' : prefixes.find((p) => e.name.startsWith(p));
    const spec = prefix === undefined ? undefined : specs.get(e.name.slice(prefix.length));
    if (!spec) throw fedError('SHAPE_MISMATCH', `update has unexpected tensor '${e.name}' (not in the model layout)`);
    const same = e.shape.length === spec.shape.length && e.shape.every((d, i) => d === spec.shape[i]);
    if (!same) throw fedError('SHAPE_MISMATCH', `tensor '${e.name}' has shape [${e.shape.join(',')}], expected [${spec.shape.join(',')}]`);
  }
  for (const spec of layout) if (!seen.has(spec.name)) throw fedError('SHAPE_MISMATCH', `update lacks tensor '${spec.name}'`);
}

function checkAgainstLayout(
  tensors: NamedTensor[],
  layout: TensorSpec[],
  specs: Map<string, TensorSpec>,
  prefixes: readonly string[],
): NamedTensor[] {
  const byName = new Map<string, NamedTensor>();
  for (const t of tensors) {
    if (byName.has(t.name)) throw fedError('SHAPE_MISMATCH', `tensor '${t.name}' appears twice in the update`);
    byName.set(t.name, t);
  }
  const out: NamedTensor[] = [];
  for (const spec of layout) {
    const t = byName.get(spec.name);
    if (!t) throw fedError('SHAPE_MISMATCH', `update lacks tensor '${spec.name}'`);
    checkTensor(t, spec);
    out.push(t);
    byName.delete(spec.name);
  }
  for (const t of byName.values()) {
    const prefix = prefixes.find((p) => t.name.startsWith(p));
    const spec = prefix === undefined ? undefined : specs.get(t.name.slice(prefix.length));
    if (!spec) throw fedError('SHAPE_MISMATCH', `update has unexpected tensor '${t.name}' (not in the model layout)`);
    checkTensor(t, spec);
    out.push(t);
  }
  return out;
}

function checkTensor(t: NamedTensor, spec: TensorSpec): void {
  const same = t.shape.length === spec.shape.length && t.shape.every((d, i) => d === spec.shape[i]);
  if (!same) throw fedError('SHAPE_MISMATCH', `tensor '${t.name}' has shape [${t.shape.join(',')}], expected [${spec.shape.join(',')}]`);
  const expected = spec.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) throw fedError('SHAPE_MISMATCH', `tensor '${t.name}' has ${t.data.length} values, expected ${expected}`);
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i]!)) throw fedError('NON_FINITE', `tensor '${t.name}' holds a non-finite value at index ${i}`);
  }
}

/**
 * Concatenates the layout tensors of a decoded update into one flat array (layout order), ignoring extras.
 * @example
 * ```ts
 * const delta = flattenLayout(await tools.decode(update.frame), layout, ctx.paramCount);
 * ```
 */
export function flattenLayout(tensors: NamedTensor[], layout: TensorSpec[], paramCount: number, prefix = ''): Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const out = new Float32Array(paramCount);
  let off = 0;
  for (const spec of layout) {
    const t = byName.get(prefix + spec.name);
    if (!t) throw fedError('SHAPE_MISMATCH', `update lacks tensor '${prefix + spec.name}'`);
    if (off + t.data.length > paramCount) throw fedError('SHAPE_MISMATCH', `update tensors exceed the model's ${paramCount} parameters`);
    out.set(t.data, off);
    off += t.data.length;
  }
  if (off !== paramCount) throw fedError('SHAPE_MISMATCH', `update has ${off} parameters, the model has ${paramCount}`);
  return out;
}
