/**
 * What the controller's parts share: the stores and links they are wired to ({@link ControllerDeps}), and one
 * session's in-memory state while its loop runs ({@link SessionRuntime}, with the {@link LiveRound} it is in).
 */
import type { EventEmitter } from 'node:events';
import type { Compressor, TensorSpec } from '@fedweb/codec';
import type { CombinerRegistry } from '../discovery/registry.js';
import type { Logger } from '../log.js';
import type { UpdateStatsSummary } from '../reducer/update-stats.js';
import type { BlobStore, ModelRecord, RoundRecord, SessionRecord, StateStore } from '../store/types.js';
import type { Strategy } from '../strategy/types.js';
import type { DownloadStream } from './download-stream.js';

/** The round a session is in right now (memory only; the store has the durable part). */
export interface LiveRound {
  roundId: string;
  round: number;
  phase: 'waiting' | 'training' | 'reducing' | 'validating';
  combiners: string[];
  selected: number;
  deadline: number | null;
}

/** The global model in memory: flat, in layout order, keyed by its model id. */
export interface GlobalModel {
  modelId: string;
  layout: TensorSpec[];
  flat: Float32Array;
}

/** One session's in-memory state while its loop runs. */
export interface SessionRuntime {
  id: string;
  /** Aborts the running round (stop, close). */
  abort: AbortController;
  loop: Promise<void> | null;
  live: LiveRound | null;
  strategy: Strategy<unknown, unknown> | null;
  options: unknown;
  state: unknown;
  global: GlobalModel | null;
  /** The previous round's update claims and norms (memory only): the next round's bounds (round/update-bounds.ts). */
  updateStats?: UpdateStatsSummary;
  /** What clients download for the current model (download-stream.ts; memory only, reopened after a restart). */
  download?: DownloadStream;
}

/** The events the controller emits, with their payloads. */
export interface ControllerEvents {
  session: SessionRecord;
  round: RoundRecord;
  model: ModelRecord;
}

/**
 * What every part of the controller is wired to. Built once by the {@link Controller} facade.
 * @example
 * ```ts
 * const deps: ControllerDeps = { state, blobs, registry, log, compressor, events: controller, timing, pendingModels: new Map(), isClosed: () => false };
 * ```
 */
export interface ControllerDeps {
  state: StateStore;
  blobs: BlobStore;
  registry: CombinerRegistry;
  log: Logger;
  compressor: Compressor;
  /** The facade: parts emit `session` / `round` / `model` on it; waits subscribe to it. */
  events: EventEmitter;
  timing: {
    /** How long a combiner may take to answer `round.prepare`. */
    prepareTimeoutMs: number;
    /** Extra time after a deadline for partials (and validation results) to arrive. */
    partialGraceMs: number;
    /** How often to ask again when too few clients are eligible. */
    waitPollMs: number;
  };
  /** Models written but not committed yet (validation tasks download them). */
  pendingModels: Map<string, { sha256: string; bytes: number }>;
  /** True once the controller is closing: loops stop and leave the store as it is (a restart resumes). */
  isClosed(): boolean;
}

/**
 * Emits one of the controller's events with its typed payload.
 * @example
 * ```ts
 * emit(deps, 'round', record);
 * ```
 */
export function emit<K extends keyof ControllerEvents>(deps: Pick<ControllerDeps, 'events'>, event: K, payload: ControllerEvents[K]): void {
  deps.events.emit(event, payload);
}

/**
 * A fresh runtime for a session (no strategy or model loaded yet).
 * @example
 * ```ts
 * runtimes.set(id, newRuntime(id));
 * ```
 */
export function newRuntime(id: string): SessionRuntime {
  return { id, abort: new AbortController(), loop: null, live: null, strategy: null, options: undefined, state: undefined, global: null };
}
