/**
 * controller/ owns sessions (sessions.ts), compute packages (packages.ts) and the model trail (trail.ts).
 *
 * This file is the facade that wires them and keeps the public `Controller` API; it owns no logic. The tier is
 * FEDn's controller (sessions, rounds, the model trail; architecture overview:
 * https://docs.scaleoutsystems.com/en/stable/architecture.html). A round's walk reads top to bottom:
 * round/membership -> round/sync-round (or round/async-engine) -> reducer/reducer -> strategy step -> trail.
 */
import { EventEmitter } from 'node:events';
import type { Compressor } from '@fedweb/codec';
import type { CombinerRegistry } from '../discovery/registry.js';
import type { Logger } from '../log.js';
import type { BlobStore, ModelRecord, PackageRecord, RoundRecord, SessionRecord, StateStore } from '../store/types.js';
import { storePackage, type PackageUpload } from './packages.js';
import type { ControllerDeps, LiveRound } from './runtime.js';
import { Sessions } from './sessions.js';

export interface ControllerOptions {
  state: StateStore;
  blobs: BlobStore;
  registry: CombinerRegistry;
  log: Logger;
  compressor: Compressor;
  /** How long a combiner may take to answer `round.prepare`. Default 5000. */
  prepareTimeoutMs?: number;
  /** Extra time after the training deadline for partials to arrive. Default 15,000. */
  partialGraceMs?: number;
  /** How often to ask again when too few clients are eligible. Default 1000. */
  waitPollMs?: number;
}

/**
 * Sessions, the round loop, the reducer and the model trail. Events: `session` (SessionRecord), `round`
 * (RoundRecord, at each final status), `model` (ModelRecord).
 * @example
 * ```ts
 * const s = await server.controller.startSession({ rounds: 3 });
 * server.controller.on('round', (r) => console.log(r.round, r.status, r.updates));
 * await server.controller.waitForSession(s.id);
 * ```
 */
export class Controller extends EventEmitter {
  private readonly deps: ControllerDeps;
  private readonly sessions: Sessions;
  private closed = false;

  constructor(opts: ControllerOptions) {
    super();
    this.deps = {
      state: opts.state,
      blobs: opts.blobs,
      registry: opts.registry,
      log: opts.log,
      compressor: opts.compressor,
      events: this,
      timing: { prepareTimeoutMs: opts.prepareTimeoutMs ?? 5000, partialGraceMs: opts.partialGraceMs ?? 15_000, waitPollMs: opts.waitPollMs ?? 1000 },
      pendingModels: new Map(),
      isClosed: () => this.closed,
    };
    this.sessions = new Sessions(this.deps);
  }

  /** Resumes sessions left running by a previous process (kill -9 included). */
  init(): Promise<void> {
    return this.sessions.init();
  }

  /**
   * Stores a compute package (bundle + manifest + seed model) and makes it active.
   * @throws FedError PACKAGE_INVALID when the manifest, the hash or the seed model is wrong.
   */
  uploadPackage(input: PackageUpload): Promise<PackageRecord> {
    return storePackage(this.deps, input);
  }

  /** The SHA-256 of a model that is in the trail or about to be committed (validation reads it), or null. */
  async modelSha(id: string): Promise<string | null> {
    return this.deps.pendingModels.get(id)?.sha256 ?? (await this.deps.state.getModel(id))?.sha256 ?? null;
  }

  /** The model trail (all models, or one session's), oldest first. */
  modelTrail(sessionId?: string): Promise<ModelRecord[]> {
    return this.deps.state.listModels(sessionId ? { sessionId } : {});
  }

  /**
   * Validates the config and starts a session on the active package (one active session at a time).
   * @throws FedError BAD_CONFIG (invalid config), CONFLICT (another session active, or no package).
   */
  startSession(input: unknown): Promise<SessionRecord> {
    return this.sessions.start(input);
  }

  pauseSession(id: string): Promise<SessionRecord> {
    return this.sessions.pause(id);
  }

  resumeSession(id: string): Promise<SessionRecord> {
    return this.sessions.resume(id);
  }

  stopSession(id: string): Promise<SessionRecord> {
    return this.sessions.stop(id);
  }

  /**
   * Starts the session's next round from an earlier model of its trail (a round in flight is aborted).
   * @throws FedError NOT_FOUND, CONFLICT (the session has ended, or the model is not in its trail).
   */
  rollbackSession(id: string, modelId: string): Promise<{ session: SessionRecord; previousModelId: string }> {
    return this.sessions.rollback(id, modelId);
  }

  getSession(id: string): Promise<{ session: SessionRecord; rounds: RoundRecord[]; live: LiveRound | null }> {
    return this.sessions.get(id);
  }

  listSessions(): Promise<SessionRecord[]> {
    return this.deps.state.listSessions();
  }

  /** The live round of the active session, for `/api/status`. */
  liveRounds(): Array<LiveRound & { sessionId: string }> {
    return this.sessions.liveRounds();
  }

  /** Resolves when the session reaches a final status or a status in `statuses`. */
  waitForSession(id: string, statuses: SessionRecord['status'][] = ['completed', 'stopped', 'failed'], timeoutMs = 60_000): Promise<SessionRecord> {
    return this.sessions.waitFor(id, statuses, timeoutMs);
  }

  /** Stops every loop (the sessions stay `running` in the store, so a restart resumes them). */
  async close(): Promise<void> {
    this.closed = true;
    await this.sessions.close();
  }
}
