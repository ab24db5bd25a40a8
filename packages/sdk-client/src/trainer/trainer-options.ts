/**
 * How a trainer is built and initialised: the platform's options, `init()`'s options and their schema.
 */
import { z } from 'zod';
import type { Compressor } from '@fedweb/codec';
import type { BackendChoice, BackendName, BackendReport, TrainerApi } from './api.js';
import { BACKEND_NAMES, type BackendEnv, type ProbeOptions } from './backends.js';
import type { ModuleImporter } from '../package/load.js';

/** How a platform builds a trainer (the worker and the Node in-process trainer each pass their own). */
export interface TrainerOptions {
  /** Deflates update frames and inflates deflated model frames. */
  compressor: Compressor;
  /** Which backends exist here and how to register them. */
  backends: BackendEnv;
  /** Imports the verified package code (default: blob: URL in browsers, data: URL in Node). */
  importModule?: ModuleImporter;
  /** Probe budget for `auto`. */
  probe?: ProbeOptions;
  /** Minimum ms between progress callbacks (default 100). */
  progressEveryMs?: number;
}

/** Validates `init()`'s options at the worker boundary. */
export const InitSchema = z.object({
  backend: z.enum(['auto', ...BACKEND_NAMES] as [BackendChoice, ...BackendChoice[]]).default('auto'),
  wasmPaths: z.string().max(2048).optional(),
  candidates: z.array(z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]])).optional(),
  cachedReport: z
    .object({ chosen: z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]]), candidates: z.record(z.string(), z.string()), cached: z.boolean() })
    .optional(),
});

/** Options of {@link TrainerApi.init}, with this implementation's additive extras. */
export interface TrainerInitOptions {
  backend: BackendChoice;
  /** Where the tfjs wasm files are served (a URL prefix ending in `/`), e.g. `/tfjs-wasm/`. Never a CDN. */
  wasmPaths?: string;
  /** Restricts the backends `auto` may probe, e.g. `['webgl', 'wasm', 'cpu']` to keep WebGPU off. */
  candidates?: BackendName[];
  /** A report cached by the caller (keyed by package hash and device): its backend is used without probing. */
  cachedReport?: BackendReport;
}

/** The trainer's API with this implementation's init options. */
export interface Trainer extends TrainerApi {
  init(opts: TrainerInitOptions): Promise<void>;
}
