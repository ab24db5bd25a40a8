/**
 * The aggregation strategy contract (phases after Flower's Strategy, with state passed explicitly):
 *
 *   configureFit  -> settings merged into each client's task (`TrainSettings.strategy`)
 *   createPartial -> an empty combiner-side aggregate
 *   foldUpdate    -> fold one validated client update into a partial      (combiner)
 *   mergePartials -> associative merge of partials                         (reducer; 1 or N combiners agree)
 *   serverStep    -> merged partial + previous global + state -> new global + state
 *
 * Strategies are pure: no timers, sockets, clocks or module-level mutable state. Randomness comes from
 * `ctx.seed`, except the noise of differentially private strategies, which must be secret and comes from the
 * platform CSPRNG (dp/secure-random.ts). The controller owns membership, quorum and deadlines.
 */
import type { z } from 'zod';
import type { NamedTensor, TensorSpec } from '@fedweb/codec';

/** What every phase knows about the round. */
export interface StrategyContext {
  sessionId: string;
  /** 1-based round (or model version for async strategies). */
  round: number;
  /** The model's tensors, in order; flat arrays below are their concatenation. */
  layout: TensorSpec[];
  /** Total number of parameters (sum of the layout's sizes). */
  paramCount: number;
  /** Deterministic seed for this round (session seed mixed with the round). */
  seed: number;
  /**
   * Tests only (the strategy contract's determinism check): a seeded stand-in for the CSPRNG Gaussian noise of
   * differentially private strategies. Hosts never set it: DP noise then comes from the platform CSPRNG.
   */
  testNoise?: (out: Float32Array, std: number) => void;
}

/**
 * A combiner-side aggregate. It must stay a bag of flat Float32Arrays plus scalars so that it can travel
 * from a combiner process to the reducer as a tensor frame. Sum-based strategies keep `tensors.sum`
 * (the example-weighted sum of deltas); buffer-based ones (median, trimmed mean) keep one entry per update.
 */
export interface PartialAggregate {
  /** Updates folded in. */
  count: number;
  /** Total weight (usually numExamples). */
  weight: number;
  tensors: Record<string, Float32Array>;
  scalars: Record<string, number>;
}

/** One client update after its frame passed validation. */
export interface ClientUpdate {
  clientId: string;
  /** The raw update frame (delta = local - global), already SHA-256 checked and size-bounded. */
  frame: Uint8Array;
  numExamples: number;
  /** For async strategies: how many model versions behind the current one the update was trained on. */
  staleness: number;
}

/** Helpers the host hands to `foldUpdate`, so strategies never touch sockets or compressors directly. */
export interface FoldTools {
  /** Streams `frame` into `acc += weight * delta` (validated against the layout first). */
  foldInto(acc: Float32Array, frame: Uint8Array, weight: number): Promise<void>;
  /** Decodes `frame` into named f32 tensors (validated against the layout; extra tensors allowed by name prefix). */
  decode(frame: Uint8Array): Promise<NamedTensor[]>;
  /**
   * Validates `frame` like `decode` (names, shapes, finiteness) and returns the sum of squares and the largest
   * magnitude of its values, read from the payload without decoding it to f32 (the combiner's bounds check).
   */
  stats(frame: Uint8Array): Promise<{ sumSq: number; maxAbs: number }>;
}

export interface ServerStepResult<State> {
  /** The new global model, flat (layout order). */
  model: Float32Array;
  state: State;
  /** Numbers worth recording with the model (e.g. `clipped`, `epsilon`). */
  metrics?: Record<string, number>;
}

export interface Strategy<Options = unknown, State = unknown> {
  readonly name: string;
  /** Validates and defaults the user's options (answered with BAD_CONFIG when invalid). */
  readonly optionsSchema: z.ZodType<Options>;
  /** `sync`: round barrier. `async` (FedBuff): the server steps every K updates. */
  readonly mode: 'sync' | 'async';
  initState(options: Options, global: Float32Array, ctx: StrategyContext): State;
  configureFit(options: Options, state: State, ctx: StrategyContext): Record<string, unknown>;
  createPartial(options: Options, ctx: StrategyContext): PartialAggregate;
  foldUpdate(options: Options, partial: PartialAggregate, update: ClientUpdate, tools: FoldTools, ctx: StrategyContext): Promise<void>;
  mergePartials(options: Options, a: PartialAggregate, b: PartialAggregate, ctx: StrategyContext): PartialAggregate;
  /** Returns `null` to keep the previous global model (e.g. nothing usable arrived). */
  serverStep(options: Options, state: State, global: Float32Array, merged: PartialAggregate, ctx: StrategyContext): ServerStepResult<State> | null;
  /** State must survive a controller restart: it is persisted with the model trail as JSON + tensors. */
  encodeState(state: State): { json: unknown; tensors: Record<string, Float32Array> };
  decodeState(json: unknown, tensors: Record<string, Float32Array>): State;

  // ---- optional members (additive; hosts must treat them as absent when undefined) ----

  /** One line for `listStrategies()`, the CLI and the dashboard. */
  readonly description?: string;
  /**
   * Buffer-based strategies (median, trimmed mean) hold every update in memory: the most updates one
   * partial (and the merged partial) may hold for this layout. The controller should cap a round's quota
   * to it; beyond it `foldUpdate`/`mergePartials` throw BAD_CONFIG. Undefined = unbounded (streaming sum).
   */
  maxUpdates?(options: Options, ctx: StrategyContext): number;
  /**
   * Async strategies (`mode: 'async'`, FedBuff): the server steps every `bufferSize` folded updates
   * (counted across all combiners); updates more than `maxStaleness` versions old are refused (STALE_ROUND).
   */
  asyncConfig?(options: Options): { bufferSize: number; maxStaleness: number };
  /**
   * Tensors the client needs besides the global model (e.g. SCAFFOLD's server control variate, named
   * `c/<layout name>`). The controller encodes them as one f32 frame, serves it like a model blob and puts
   * its BlobRef in `settings.strategy.tensors` of the training task. Undefined or empty = nothing to ship.
   */
  clientTensors?(options: Options, state: State, ctx: StrategyContext): NamedTensor[];
  /**
   * Differentially private strategies: the per-round sampling rate q their accountant assumes. The host then
   * samples clients by Poisson sampling with rate q from the platform CSPRNG (each eligible client independently),
   * and derives no bound from the clients' data (README "Threat model").
   */
  privacy?(options: Options): { samplingRate: number };
}
