import { z } from 'zod';
import type { Strategy } from '../types.js';
export declare const FedBuffOptionsSchema: z.ZodObject<{
    bufferSize: z.ZodDefault<z.ZodNumber>;
    serverLearningRate: z.ZodDefault<z.ZodNumber>;
    stalenessExponent: z.ZodDefault<z.ZodNumber>;
    maxStaleness: z.ZodDefault<z.ZodNumber>;
    weighting: z.ZodDefault<z.ZodEnum<{
        examples: "examples";
        uniform: "uniform";
    }>>;
}, z.core.$strict>;
export type FedBuffOptions = z.infer<typeof FedBuffOptionsSchema>;
export type FedBuffState = Record<string, never>;
/**
 * The staleness weight s(τ) = (1 + τ)^(−a) (Nguyen et al. 2022, §3; a = 0.5 gives 1/√(1+τ)).
 * @example
 * ```ts
 * stalenessWeight(3, 0.5); // 0.5
 * ```
 */
export declare function stalenessWeight(staleness: number, exponent: number): number;
/**
 * The FedBuff strategy object (registered as `fedbuff`).
 * @example
 * ```ts
 * const { bufferSize } = fedbuff.asyncConfig!(options); // step every bufferSize updates
 * ```
 */
export declare const fedbuff: Strategy<FedBuffOptions, FedBuffState>;
