import { z } from 'zod';
import type { Strategy } from '../types.js';
export declare const NormClipOptionsSchema: z.ZodObject<{
    maxNorm: z.ZodOptional<z.ZodNumber>;
    medianMultiplier: z.ZodDefault<z.ZodNumber>;
    maxBufferBytes: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>;
export type NormClipOptions = z.infer<typeof NormClipOptionsSchema>;
export type NormClipState = Record<string, never>;
/**
 * Scales `delta` in place to L2 norm at most `bound`; returns its norm before clipping.
 * @example
 * ```ts
 * clipInPlace(new Float32Array([3, 4]), 1); // returns 5, array becomes [0.6, 0.8]
 * ```
 */
export declare function clipInPlace(delta: Float32Array, bound: number): number;
/**
 * The norm-clipping strategy (registered as `normclip`).
 * @example
 * ```ts
 * parseStrategyOptions('normclip', { maxNorm: 5 }); // fixed bound, streaming
 * ```
 */
export declare const normclip: Strategy<NormClipOptions, NormClipState>;
