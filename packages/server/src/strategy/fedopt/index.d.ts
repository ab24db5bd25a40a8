import { z } from 'zod';
import type { Strategy } from '../types.js';
export declare const FedOptOptionsSchema: z.ZodObject<{
    eta: z.ZodDefault<z.ZodNumber>;
    beta1: z.ZodDefault<z.ZodNumber>;
    beta2: z.ZodDefault<z.ZodNumber>;
    tau: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>;
export type FedOptOptions = z.infer<typeof FedOptOptionsSchema>;
export interface FedOptState {
    /** First moment m_t. */
    m: Float32Array;
    /** Second moment v_t. */
    v: Float32Array;
    /** Server steps taken. */
    step: number;
}
export type FedOptVariant = 'adagrad' | 'adam' | 'yogi';
/**
 * One FedOpt server update on flat arrays, exported for tests and for custom strategies.
 * Mutates `m` and `v`; returns the new model.
 * @example
 * ```ts
 * const next = fedOptStep('adam', opts, global, delta, m, v);
 * ```
 */
export declare function fedOptStep(variant: FedOptVariant, o: FedOptOptions, global: Float32Array, delta: Float32Array, m: Float32Array, v: Float32Array): Float32Array;
/**
 * Builds one of the three FedOpt strategies.
 * @example
 * ```ts
 * const fedyogi = createFedOpt('yogi');
 * ```
 */
export declare function createFedOpt(variant: FedOptVariant): Strategy<FedOptOptions, FedOptState>;
/** FedAdam (registered as `fedadam`). */
export declare const fedadam: Strategy<{
    eta: number;
    beta1: number;
    beta2: number;
    tau: number;
}, FedOptState>;
/** FedYogi (registered as `fedyogi`). */
export declare const fedyogi: Strategy<{
    eta: number;
    beta1: number;
    beta2: number;
    tau: number;
}, FedOptState>;
/** FedAdagrad (registered as `fedadagrad`). */
export declare const fedadagrad: Strategy<{
    eta: number;
    beta1: number;
    beta2: number;
    tau: number;
}, FedOptState>;
