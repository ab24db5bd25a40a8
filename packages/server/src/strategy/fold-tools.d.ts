import type { Compressor, FrameLimits, NamedTensor, TensorSpec } from '@fedweb/codec';
import type { FoldTools } from './types.js';
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
}
/**
 * Builds the {@link FoldTools} a combiner hands to `foldUpdate`, on top of `@fedweb/codec`'s streaming
 * `foldInto` and `decodeFrame`. `decode` checks names, shapes and finiteness against the layout and
 * returns the layout tensors first (layout order), then the accepted extras.
 *
 * @example
 * ```ts
 * import { nodeZlibCompressor } from '@fedweb/codec/node';
 * const tools = createFoldTools({ layout, compressor: nodeZlibCompressor });
 * await strategy.foldUpdate(options, partial, update, tools, ctx);
 * ```
 */
export declare function createFoldTools(opts: FoldToolsOptions): FoldTools;
/**
 * Concatenates the layout tensors of a decoded update into one flat array (layout order), ignoring extras.
 * @example
 * ```ts
 * const delta = flattenLayout(await tools.decode(update.frame), layout, ctx.paramCount);
 * ```
 */
export declare function flattenLayout(tensors: NamedTensor[], layout: TensorSpec[], paramCount: number, prefix?: string): Float32Array;
