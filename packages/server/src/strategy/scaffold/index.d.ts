import { z } from 'zod';
import type { Strategy } from '../types.js';
export declare const SCAFFOLD_PREFIX = "c/";
export declare const ScaffoldOptionsSchema: z.ZodObject<{
    serverLearningRate: z.ZodDefault<z.ZodNumber>;
    numClients: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>;
export type ScaffoldOptions = z.infer<typeof ScaffoldOptionsSchema>;
export interface ScaffoldState {
    /** The server control variate c (model-size). */
    c: Float32Array;
}
/**
 * The SCAFFOLD strategy object (registered as `scaffold`).
 * @example
 * ```ts
 * const extra = scaffold.clientTensors!(options, state, ctx); // [{ name: 'c/w0', ... }, ...]
 * ```
 */
export declare const scaffold: Strategy<ScaffoldOptions, ScaffoldState>;
