import { z } from 'zod';
import type { Strategy } from '../types.js';
export declare const DpOptionsSchema: z.ZodObject<{
    clipNorm: z.ZodDefault<z.ZodNumber>;
    noiseMultiplier: z.ZodDefault<z.ZodNumber>;
    samplingRate: z.ZodDefault<z.ZodNumber>;
    delta: z.ZodDefault<z.ZodNumber>;
    serverLearningRate: z.ZodDefault<z.ZodNumber>;
    expectedClients: z.ZodOptional<z.ZodNumber>;
}, z.core.$strict>;
export type DpOptions = z.infer<typeof DpOptionsSchema>;
export interface DpState {
    /** Noisy releases so far. */
    steps: number;
    /** Accumulated RDP at {@link DEFAULT_RDP_ORDERS} (composition adds; options may change between rounds). */
    rdp: number[];
}
/**
 * The central-DP strategy (registered as `dp`).
 * @example
 * ```ts
 * const { metrics } = dp.serverStep(options, state, global, merged, ctx)!; // metrics.epsilon for options.delta
 * ```
 */
export declare const dp: Strategy<DpOptions, DpState>;
