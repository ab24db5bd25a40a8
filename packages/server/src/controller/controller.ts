/**
 * The controller (reference 000, tier 3): sessions, the round loop, the reducer and the model trail.
 *
 * One round, after reference 000's seven steps:
 *  1. ask every combiner whether it can take part (`round.prepare` -> `round.ready`: its eligible clients;
 *     it takes part if it has at least `clientsRequired`); sample `clientsPerRound` over all eligible clients;
 *  2. start the deadline and send `round.start` (model and package refs, settings, selected clients, quota);
 *  3. wait for every participant's partial (or its failure, or the deadline plus a grace period);
 *  4. check the validity policy;
 *  5. reduce: merge the partials (example-weighted, associative) and apply the strategy's server step;
 *  6. optionally send validation tasks and aggregate their metrics;
 *  7. commit: the model blob is written (fsynced) first, then one transaction adds the trail row, the round
 *     row and the session's progress, so a kill -9 at any point leaves either the old or the new model.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  ComputePackageManifestSchema,
  decodeFrame,
  encodeFrame,
  fedError,
  mixSeed,
  flattenTensors,
  readFrameHeader,
  toFedError,
  unflattenTensors,
  type BlobRef,
  type Compressor,
  type ComputePackageManifest,
  type Metrics,
  type NamedTensor,
  type MessageOf,
  type TensorSpec,
  type TrainSettings,
} from '@fedweb/codec';
import { isEligible, sample, type SessionConfig } from '../config.js';
import { StartSessionSchema } from '../http/schemas.js';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import type {
  BlobStore,
  MetricRow,
  ModelRecord,
  PackageRecord,
  PartialSummary,
  RoundRecord,
  SessionRecord,
  StateStore,
} from '../store/types.js';
import { decodePartial, getStrategy } from '../strategy/index.js';
import type { PartialAggregate, Strategy, StrategyContext } from '../strategy/types.js';
import type { CombinerHandle, CombinerRegistry, Outcome, ReceivedPartial } from './registry.js';

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

/** The round a session is in right now (memory only; the store has the durable part). */
export interface LiveRound {
  roundId: string;
  round: number;
  phase: 'waiting' | 'training' | 'reducing' | 'validating';
  combiners: string[];
  selected: number;
  deadline: number | null;
}

interface SessionRuntime {
  id: string;
  /** Aborts the running round (stop). */
  abort: AbortController;
  loop: Promise<void> | null;
  live: LiveRound | null;
  strategy: Strategy<unknown, unknown> | null;
  options: unknown;
  state: unknown;
  /** The global model in memory (flat, layout order), keyed by its model id. */
  global: { modelId: string; layout: TensorSpec[]; flat: Float32Array } | null;
}

const nonce = (): string => randomBytes(4).toString('hex');

/**
 * The BlobRef of a model in the trail.
 * @example
 * ```ts
 * modelRef(model).url // '/api/models/s1.m3'
 * ```
 */
export function modelRef(m: Pick<ModelRecord, 'id' | 'sha256' | 'bytes'>): BlobRef {
  return { id: m.id, sha256: m.sha256, url: `/api/models/${encodeURIComponent(m.id)}`, bytes: m.bytes };
}

/**
 * The BlobRef of a compute package bundle.
 * @example
 * ```ts
 * packageRef(pkg).url // '/api/packages/<sha256>'
 * ```
 */
export function packageRef(p: Pick<PackageRecord, 'sha256' | 'bytes'>): BlobRef {
  return { id: `pkg-${p.sha256.slice(0, 16)}`, sha256: p.sha256, url: `/api/packages/${p.sha256}`, bytes: p.bytes };
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
  private readonly state: StateStore;
  private readonly blobs: BlobStore;
  private readonly registry: CombinerRegistry;
  private readonly log: Logger;
  private readonly runtimes = new Map<string, SessionRuntime>();
  /** Models written but not committed yet (validation reads them). */
  private readonly pendingModels = new Map<string, { sha256: string; bytes: number }>();
  private closed = false;

  constructor(private readonly opts: ControllerOptions) {
    super();
    this.state = opts.state;
    this.blobs = opts.blobs;
    this.registry = opts.registry;
    this.log = opts.log;
  }

  /** Resumes sessions left running by a previous process (kill -9 included). */
  async init(): Promise<void> {
    const interrupted = await this.state.interruptOpenRounds();
    if (interrupted > 0) this.log.warn({ interrupted }, 'rounds interrupted by a restart will be re-run');
    for (const s of await this.state.listSessions()) {
      if (s.status === 'running') {
        this.log.info({ sessionId: s.id, completedRounds: s.completedRounds, modelId: s.currentModelId }, 'resuming session from its last committed model');
        this.launch(s.id);
      }
    }
  }

  // ------------------------------------------------------------------ packages

  /**
   * Stores a compute package (bundle + manifest + seed model) and makes it active.
   * @throws FedError PACKAGE_INVALID when the manifest, the hash or the seed model is wrong.
   */
  async uploadPackage(input: { manifest: unknown; bundle: Uint8Array; seedModel: Uint8Array; activate?: boolean }): Promise<PackageRecord> {
    const parsed = ComputePackageManifestSchema.safeParse(input.manifest);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw fedError('PACKAGE_INVALID', `manifest${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message}`);
    }
    const manifest: ComputePackageManifest = parsed.data;
    const sha = sha256Node(input.bundle);
    if (sha !== manifest.sha256) throw fedError('PACKAGE_INVALID', `bundle SHA-256 is ${sha}, the manifest says ${manifest.sha256}`);
    if (input.bundle.byteLength !== manifest.bytes) throw fedError('PACKAGE_INVALID', `bundle is ${input.bundle.byteLength} bytes, the manifest says ${manifest.bytes}`);
    let layout: TensorSpec[];
    let tensors: NamedTensor[];
    try {
      tensors = await decodeFrame(input.seedModel, { compressor: this.opts.compressor });
      if (tensors.length === 0) throw fedError('BAD_FRAME', 'the seed model has no tensors');
      for (const t of tensors) for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i]!)) throw fedError('NON_FINITE', `seed tensor ${t.name} is not finite`);
      layout = tensors.map((t) => ({ name: t.name, shape: t.shape }));
    } catch (e) {
      throw fedError('PACKAGE_INVALID', `seed model: ${toFedError(e).message}`);
    }
    // The seed model is stored as a plain f32 frame whatever encoding it came in, so all clients get the same bytes.
    const header = readFrameHeader(input.seedModel);
    const seedFrame = !header.compressed && header.tensors.every((t) => t.encoding === 'f32') ? input.seedModel : await encodeFrame(tensors, { encoding: 'f32' });
    const bundleBlob = await this.blobs.put(input.bundle);
    const seedBlob = await this.blobs.put(seedFrame);
    const seed: ModelRecord = {
      id: `seed-${seedBlob.sha256.slice(0, 16)}`,
      parentId: null,
      sessionId: null,
      round: 0,
      sha256: seedBlob.sha256,
      bytes: seedBlob.bytes,
      blobPath: seedBlob.path,
      metrics: {},
      createdAt: Date.now(),
    };
    await this.state.putModel(seed);
    const rec: PackageRecord = {
      sha256: sha,
      name: manifest.name,
      version: manifest.version,
      manifest,
      seedModelId: seed.id,
      bytes: bundleBlob.bytes,
      createdAt: Date.now(),
      active: input.activate ?? true,
    };
    await this.state.putPackage(rec, input.activate ?? true);
    this.log.info({ name: rec.name, version: rec.version, sha256: sha, params: layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) }, 'compute package stored');
    return (await this.state.getPackage(sha)) ?? rec;
  }

  /** The SHA-256 of a model that is in the trail or about to be committed (validation reads it), or null. */
  async modelSha(id: string): Promise<string | null> {
    return this.pendingModels.get(id)?.sha256 ?? (await this.state.getModel(id))?.sha256 ?? null;
  }

  /** The model trail (all models, or one session's), oldest first. */
  modelTrail(sessionId?: string): Promise<ModelRecord[]> {
    return this.state.listModels(sessionId ? { sessionId } : {});
  }

  // ------------------------------------------------------------------ sessions

  /**
   * Validates the config and starts a session on the active package.
   * @throws FedError BAD_CONFIG (invalid config), CONFLICT (another session active, or no package).
   */
  async startSession(input: unknown): Promise<SessionRecord> {
    const parsed = StartSessionSchema.safeParse(input ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw fedError('BAD_CONFIG', `session config${issue?.path.length ? '.' + issue.path.join('.') : ''}: ${issue?.message}`);
    }
    const { id: requestedId, ...config } = parsed.data;
    const strategy = this.strategyOf(config);
    const options = this.strategyOptions(strategy, config);
    const active = (await this.state.listSessions()).find((s) => s.status === 'running' || s.status === 'paused');
    if (active) throw fedError('CONFLICT', `session ${active.id} is ${active.status}; stop it first`);
    const pkg = await this.state.getActivePackage();
    if (!pkg) throw fedError('CONFLICT', 'no compute package: upload one first (POST /api/packages or --package)');
    const initialModelId = config.initialModelId ?? pkg.seedModelId;
    const initial = await this.state.getModel(initialModelId);
    if (!initial) throw fedError('NOT_FOUND', `no model ${initialModelId}`);
    const id = requestedId ?? `s${Date.now().toString(36)}${nonce()}`;
    if (await this.state.getSession(id)) throw fedError('CONFLICT', `session ${id} exists`);
    const global = await this.loadGlobal(initial);
    const ctx = this.context(id, 0, config, global.layout);
    const stateValue = strategy.initState(options, global.flat, ctx);
    const persisted = await this.persistState(strategy, stateValue);
    const now = Date.now();
    const rec: SessionRecord = {
      id,
      name: config.name ?? null,
      status: 'running',
      config,
      packageSha: pkg.sha256,
      initialModelId,
      currentModelId: initialModelId,
      completedRounds: 0,
      strategyState: persisted.json,
      strategyStateSha: persisted.sha,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.state.createSession(rec);
    const rt = this.runtime(id);
    rt.strategy = strategy;
    rt.options = options;
    rt.state = stateValue;
    rt.global = global;
    this.log.info({ sessionId: id, rounds: config.rounds, strategy: strategy.name }, 'session started');
    if (strategy.mode === 'async') {
      // The asynchronous engine (runAsync): every eligible client trains; no sampling, no validation tasks.
      if (config.clientsPerRound !== undefined || config.validate) {
        this.log.warn({ sessionId: id, strategy: strategy.name }, 'async strategy: clientsPerRound and validate are ignored (every eligible client trains continuously)');
      }
    }
    this.emit('session', rec);
    this.launch(id);
    return rec;
  }

  async pauseSession(id: string): Promise<SessionRecord> {
    const s = await this.mustSession(id);
    if (s.status !== 'running') throw fedError('CONFLICT', `session ${id} is ${s.status}, not running`);
    await this.state.updateSession(id, { status: 'paused' });
    this.log.info({ sessionId: id }, 'session paused (the current round finishes)');
    return this.emitSession(id);
  }

  async resumeSession(id: string): Promise<SessionRecord> {
    const s = await this.mustSession(id);
    if (s.status !== 'paused') throw fedError('CONFLICT', `session ${id} is ${s.status}, not paused`);
    await this.state.updateSession(id, { status: 'running' });
    this.log.info({ sessionId: id }, 'session resumed');
    this.launch(id);
    return this.emitSession(id);
  }

  async stopSession(id: string): Promise<SessionRecord> {
    const s = await this.mustSession(id);
    if (s.status !== 'running' && s.status !== 'paused') throw fedError('CONFLICT', `session ${id} is already ${s.status}`);
    await this.state.updateSession(id, { status: 'stopped' });
    this.runtimes.get(id)?.abort.abort();
    this.log.info({ sessionId: id }, 'session stopped');
    return this.emitSession(id);
  }

  async getSession(id: string): Promise<{ session: SessionRecord; rounds: RoundRecord[]; live: LiveRound | null }> {
    const session = await this.mustSession(id);
    return { session, rounds: await this.state.listRounds(id), live: this.runtimes.get(id)?.live ?? null };
  }

  listSessions(): Promise<SessionRecord[]> {
    return this.state.listSessions();
  }

  /** The live round of the active session, for `/api/status`. */
  liveRounds(): Array<LiveRound & { sessionId: string }> {
    return [...this.runtimes.values()].filter((r) => r.live).map((r) => ({ sessionId: r.id, ...(r.live as LiveRound) }));
  }

  /** Resolves when the session reaches a final status or a status in `statuses`. */
  waitForSession(id: string, statuses: SessionRecord['status'][] = ['completed', 'stopped', 'failed'], timeoutMs = 60_000): Promise<SessionRecord> {
    return new Promise((resolve, reject) => {
      const onSession = (s: SessionRecord): void => {
        if (s.id === id && statuses.includes(s.status)) done(null, s);
      };
      const timer = setTimeout(() => done(fedError('TIMEOUT', `session ${id} did not reach ${statuses.join('/')} in ${timeoutMs} ms`)), timeoutMs);
      const done = (err: Error | null, s?: SessionRecord): void => {
        clearTimeout(timer);
        this.off('session', onSession);
        if (err) reject(err);
        else resolve(s as SessionRecord);
      };
      this.on('session', onSession);
      void this.state.getSession(id).then((s) => {
        if (s && statuses.includes(s.status)) done(null, s);
      }, (e: unknown) => done(toFedError(e)));
    });
  }

  private async emitSession(id: string): Promise<SessionRecord> {
    const s = await this.mustSession(id);
    this.emit('session', s);
    return s;
  }

  private async mustSession(id: string): Promise<SessionRecord> {
    const s = await this.state.getSession(id);
    if (!s) throw fedError('NOT_FOUND', `no session ${id}`);
    return s;
  }

  private runtime(id: string): SessionRuntime {
    let rt = this.runtimes.get(id);
    if (!rt) {
      rt = { id, abort: new AbortController(), loop: null, live: null, strategy: null, options: undefined, state: undefined, global: null };
      this.runtimes.set(id, rt);
    }
    return rt;
  }

  private strategyOf(config: SessionConfig): Strategy<unknown, unknown> {
    try {
      return getStrategy(config.strategy.name) as Strategy<unknown, unknown>;
    } catch (e) {
      throw fedError('BAD_CONFIG', toFedError(e).message);
    }
  }

  private strategyOptions(strategy: Strategy<unknown, unknown>, config: SessionConfig): unknown {
    const r = strategy.optionsSchema.safeParse(config.strategy.options);
    if (!r.success) throw fedError('BAD_CONFIG', `strategy.options: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
    return r.data;
  }

  private context(sessionId: string, round: number, config: SessionConfig, layout: TensorSpec[]): StrategyContext {
    const paramCount = layout.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    return { sessionId, round, layout, paramCount, seed: mixSeed(config.seed, round) };
  }

  private async loadGlobal(model: ModelRecord): Promise<{ modelId: string; layout: TensorSpec[]; flat: Float32Array }> {
    const bytes = await this.blobs.get(model.sha256);
    if (!bytes) throw fedError('STORAGE', `blob of model ${model.id} is missing`);
    const tensors = await decodeFrame(bytes, { compressor: this.opts.compressor });
    return { modelId: model.id, layout: tensors.map((t) => ({ name: t.name, shape: t.shape })), flat: flattenTensors(tensors) };
  }

  /**
   * The strategy's per-round client settings (`configureFit`), plus its client tensors (SCAFFOLD's control
   * variate) stored as a blob and referenced as `tensors`, for sync rounds and async versions alike.
   */
  private async strategySettings(rt: SessionRuntime, strategy: Strategy<unknown, unknown>, ctx: StrategyContext): Promise<Record<string, unknown>> {
    const settings: Record<string, unknown> = { ...strategy.configureFit(rt.options, rt.state, ctx) };
    const clientTensors = strategy.clientTensors?.(rt.options, rt.state, ctx) ?? [];
    if (clientTensors.length > 0) {
      const blob = await this.blobs.put(await encodeFrame(clientTensors, { encoding: 'f32' }));
      settings.tensors = { id: `st-${blob.sha256.slice(0, 16)}`, sha256: blob.sha256, url: `/api/blobs/${blob.sha256}`, bytes: blob.bytes } satisfies BlobRef;
    }
    return settings;
  }

  private async persistState(strategy: Strategy<unknown, unknown>, value: unknown): Promise<{ json: unknown; sha: string | null }> {
    const enc = strategy.encodeState(value);
    const names = Object.keys(enc.tensors);
    if (names.length === 0) return { json: enc.json ?? null, sha: null };
    const frame = await encodeFrame(
      names.map((name) => ({ name, shape: [(enc.tensors[name] as Float32Array).length], data: enc.tensors[name] as Float32Array })),
      { encoding: 'f32' },
    );
    return { json: enc.json ?? null, sha: (await this.blobs.put(frame)).sha256 };
  }

  /** Rebuilds the in-memory strategy state and global model of a session (after a restart). */
  private async hydrate(rt: SessionRuntime, s: SessionRecord): Promise<void> {
    if (!rt.strategy) {
      rt.strategy = this.strategyOf(s.config);
      rt.options = this.strategyOptions(rt.strategy, s.config);
      const tensors: Record<string, Float32Array> = {};
      if (s.strategyStateSha) {
        const bytes = await this.blobs.get(s.strategyStateSha);
        if (!bytes) throw fedError('STORAGE', `strategy state blob ${s.strategyStateSha} is missing`);
        for (const t of await decodeFrame(bytes)) tensors[t.name] = t.data;
      }
      rt.state = rt.strategy.decodeState(s.strategyState, tensors);
    }
    if (!rt.global || rt.global.modelId !== s.currentModelId) {
      const model = await this.state.getModel(s.currentModelId);
      if (!model) throw fedError('STORAGE', `model ${s.currentModelId} of session ${s.id} is missing`);
      rt.global = await this.loadGlobal(model);
    }
  }

  /** Starts the session's loop unless it already runs. */
  private launch(id: string): void {
    const rt = this.runtime(id);
    if (rt.loop || this.closed) return;
    if (rt.abort.signal.aborted) rt.abort = new AbortController();
    rt.loop = this.loop(rt)
      .catch(async (e: unknown) => {
        const err = toFedError(e);
        this.log.error({ sessionId: id, code: err.code, err: err.message }, 'session failed');
        if (!this.closed) {
          await this.state.updateSession(id, { status: 'failed', error: err.message }).catch(() => undefined);
          await this.emitSession(id).catch(() => undefined);
        }
      })
      .finally(() => {
        rt.loop = null;
        rt.live = null;
        // A resume that came while the loop was finishing its last round: run again.
        if (!this.closed) {
          void this.state.getSession(id).then((s) => {
            if (s?.status === 'running' && s.completedRounds < s.config.rounds && !rt.abort.signal.aborted) this.launch(id);
            // A finished session's runtime holds its global model: free it.
            else if (s && ['completed', 'stopped', 'failed'].includes(s.status) && !rt.loop) this.runtimes.delete(id);
          }, () => undefined);
        }
      });
  }

  private async loop(rt: SessionRuntime): Promise<void> {
    while (!this.closed && !rt.abort.signal.aborted) {
      const s = await this.mustSession(rt.id);
      if (s.status !== 'running') return;
      if (s.completedRounds >= s.config.rounds) {
        await this.state.updateSession(s.id, { status: 'completed' });
        this.log.info({ sessionId: s.id, rounds: s.completedRounds, modelId: s.currentModelId }, 'session completed');
        await this.emitSession(s.id);
        return;
      }
      await this.hydrate(rt, s);
      if (rt.strategy?.mode === 'async') await this.runAsync(rt, s);
      else await this.runRound(rt, s);
    }
  }

  // ------------------------------------------------------------------ the round

  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private async runRound(rt: SessionRuntime, s: SessionRecord): Promise<void> {
    const signal = rt.abort.signal;
    const config = s.config;
    const strategy = rt.strategy as Strategy<unknown, unknown>;
    const global = rt.global as NonNullable<SessionRuntime['global']>;
    const round = s.completedRounds + 1;
    const roundId = `${s.id}.r${round}.${nonce()}`;
    const ctx = this.context(s.id, round, config, global.layout);
    const model = await this.state.getModel(s.currentModelId);
    const pkg = await this.state.getPackage(s.packageSha);
    if (!model || !pkg) throw fedError('STORAGE', `session ${s.id} lost its model or package`);
    rt.live = { roundId, round, phase: 'waiting', combiners: [], selected: 0, deadline: null };

    // 1. Which combiners can take part (each needs `clientsRequired` eligible clients).
    const prepareTimeout = this.opts.prepareTimeoutMs ?? 5000;
    let participants: Array<{ handle: CombinerHandle; eligible: string[] }> = [];
    let waitingLogged = false;
    for (;;) {
      if (signal.aborted || this.closed) return;
      const current = await this.state.getSession(s.id);
      if (current?.status !== 'running') return; // paused while waiting: no round was started
      const handles = this.registry.list();
      const answers = await Promise.all(
        handles.map((h) =>
          this.registry.request<string[]>('ready', h, roundId, { v: 1, kind: 'round.prepare', sessionId: s.id, roundId, selection: config.selection }, prepareTimeout, signal),
        ),
      );
      participants = [];
      answers.forEach((a, i) => {
        if (a.ok && a.value.length >= config.clientsRequired) participants.push({ handle: handles[i] as CombinerHandle, eligible: a.value });
      });
      if (participants.length >= config.validity.minCombiners) break;
      if (!waitingLogged) {
        this.log.info({ sessionId: s.id, round, combiners: handles.length, clientsRequired: config.clientsRequired }, 'waiting for enough eligible clients');
        waitingLogged = true;
      }
      await this.sleep(this.opts.waitPollMs ?? 1000, signal);
    }

    // Sample clients over all eligible ones (a client reported twice while moving is kept once).
    const owner = new Map<string, CombinerHandle>();
    for (const p of participants) for (const id of p.eligible) if (!owner.has(id)) owner.set(id, p.handle);
    const everyone = [...owner.keys()].sort();
    const chosen = config.clientsPerRound ? sample(everyone, config.clientsPerRound, ctx.seed) : everyone;
    const perCombiner = new Map<CombinerHandle, string[]>();
    for (const id of chosen) {
      const h = owner.get(id) as CombinerHandle;
      perCombiner.set(h, [...(perCombiner.get(h) ?? []), id]);
    }
    const cap = strategy.maxUpdates?.(rt.options, ctx);

    // 2. Deadline and round.start.
    const startedAt = Date.now();
    const deadline = startedAt + config.roundTimeoutMs;
    const record = trainingRecord(roundId, s.id, round, startedAt, deadline, [...perCombiner.keys()].map((h) => h.id));
    await this.state.putRound(record);
    rt.live = { roundId, round, phase: 'training', combiners: record.combiners, selected: chosen.length, deadline };
    const manifest = pkg.manifest as ComputePackageManifest;
    const strategySettings = await this.strategySettings(rt, strategy, ctx);
    const settings = clientSettings(config, manifest, round, strategySettings);
    const grace = this.opts.partialGraceMs ?? 15_000;
    this.log.info({ sessionId: s.id, roundId, round, combiners: record.combiners, selected: chosen.length }, 'round started');
    const outcomes = await Promise.all(
      [...perCombiner.entries()].map(([h, ids]) =>
        this.registry.request<ReceivedPartial>(
          'partial',
          h,
          roundId,
          {
            v: 1,
            kind: 'round.start',
            sessionId: s.id,
            roundId,
            round,
            seed: ctx.seed,
            ...(config.maxUpdateNorm !== undefined ? { maxUpdateNorm: config.maxUpdateNorm } : {}),
            model: modelRef(model),
            package: packageRef(pkg),
            settings,
            strategy: { name: strategy.name, options: config.strategy.options },
            clientIds: ids,
            deadline,
            quota: Math.max(1, cap !== undefined ? Math.min(cap, ids.length) : ids.length),
          },
          deadline - Date.now() + grace,
          signal,
        ).then((o) => ({ handle: h, o })),
      ),
    );

    if (signal.aborted || this.closed) {
      for (const h of perCombiner.keys()) h.peer.send({ v: 1, kind: 'round.abort', roundId, reason: 'session stopped' });
      if (!this.closed) await this.finishRound(rt, s, { ...record, status: 'aborted', reason: 'session stopped' }, false);
      return;
    }

    // 3-4. Partials and the validity policy.
    rt.live = { ...rt.live, phase: 'reducing' };
    const tPartials = Date.now();
    const partials: Array<{ summary: PartialSummary; partial: PartialAggregate; metrics: Metrics }> = [];
    const failures: string[] = [];
    for (const { handle, o } of outcomes) {
      if (!o.ok) {
        failures.push(`${handle.id}: ${o.error.message}`);
        continue;
      }
      const meta = o.value.meta;
      try {
        const partial = await decodePartial(
          { frame: o.value.frame, count: meta.count, totalWeight: meta.totalWeight, scalars: meta.scalars },
          { tensorLength: ctx.paramCount },
        );
        partials.push({
          partial,
          metrics: meta.metrics,
          summary: {
            combinerId: handle.id,
            count: meta.count,
            weight: meta.totalWeight,
            refusedStale: meta.refusedStale,
            refused: meta.refused,
            ...(meta.firstUpdateAt !== undefined ? { firstUpdateAt: meta.firstUpdateAt } : {}),
            ...(meta.lastUpdateAt !== undefined ? { lastUpdateAt: meta.lastUpdateAt } : {}),
            receivedAt: o.value.receivedAt,
          },
        });
      } catch (e) {
        failures.push(`${handle.id}: ${toFedError(e).message}`);
      }
    }
    if (failures.length) this.log.warn({ roundId, failures }, 'some combiners returned no partial');
    const updates = partials.reduce((n, p) => n + p.partial.count, 0);
    const weight = partials.reduce((n, p) => n + p.partial.weight, 0);
    const lastUpdateAt = partials.reduce<number | null>((t, p) => (p.summary.lastUpdateAt !== undefined && (t === null || p.summary.lastUpdateAt > t) ? p.summary.lastUpdateAt : t), null);
    const timings: Record<string, number> = { partials: lastUpdateAt !== null ? Math.max(0, tPartials - lastUpdateAt) : 0, decode: Date.now() - tPartials };
    const trainMetrics = mergeMetrics(partials.map((p) => ({ metrics: p.metrics, weight: p.partial.weight })));
    const progress: RoundRecord = { ...record, updates, weight, lastUpdateAt, partials: partials.map((p) => p.summary), trainMetrics, timings };
    const qualifying = partials.filter((p) => p.partial.count >= config.minClients).length;
    if (qualifying < config.validity.minCombiners || updates < config.validity.minTotalUpdates || updates === 0) {
      const reason = `invalid round: ${qualifying} partial(s) with >= ${config.minClients} update(s) (need ${config.validity.minCombiners}), ${updates} update(s) in all${failures.length ? `; ${failures.join('; ')}` : ''}`;
      this.log.warn({ roundId, reason }, 'round failed the validity policy; the global model is unchanged');
      await this.finishRound(rt, s, { ...progress, status: 'failed', reason: reason.slice(0, 2000) }, true);
      return;
    }

    // 5. Reduce: merge partials (example-weighted), then the strategy's server step.
    let t = Date.now();
    let merged = partials[0]?.partial as PartialAggregate;
    for (const p of partials.slice(1)) merged = strategy.mergePartials(rt.options, merged, p.partial, ctx);
    const step = strategy.serverStep(rt.options, rt.state, global.flat, merged, ctx);
    if (!step) {
      await this.finishRound(rt, s, { ...progress, status: 'failed', reason: 'the strategy kept the previous model' }, true);
      return;
    }
    timings.step = Date.now() - t;
    t = Date.now();
    const frame = await encodeFrame(unflattenTensors(step.model, global.layout), { encoding: 'f32' });
    timings.encode = Date.now() - t;
    t = Date.now();
    const blob = await this.blobs.put(frame); // durable before any row points at it
    const modelId = `${s.id}.m${round}`;
    this.pendingModels.set(modelId, { sha256: blob.sha256, bytes: blob.bytes });
    const persisted = await this.persistState(strategy, step.state);
    timings.store = Date.now() - t;

    // 6. Validation.
    let validationMetrics: Metrics = {};
    if (config.validate) {
      rt.live = { ...rt.live, phase: 'validating' };
      await this.state.putRound({ ...progress, status: 'validating' });
      t = Date.now();
      validationMetrics = await this.runValidation(s, roundId, { id: modelId, sha256: blob.sha256, bytes: blob.bytes }, pkg, [...perCombiner.entries()], signal);
      timings.validate = Date.now() - t;
    }

    // 7. Commit to the trail (one transaction).
    await this.commitStep(rt, s, { progress, parentId: model.id, blob, persisted, step, layout: global.layout, validationMetrics });
    this.pendingModels.delete(modelId);
    this.log.info(
      { sessionId: s.id, roundId, round, modelId, updates, weight, overheadMs: lastUpdateAt !== null ? Date.now() - lastUpdateAt : null, timings },
      'round committed',
    );
  }

  /**
   * Step 7, for sync rounds and async versions alike: writes the new global model, the committed round record,
   * the session's trail head and strategy state, and the metric rows in one transaction; then adopts the step
   * as the runtime's global model and emits `model` and `round`. `progress.timings` gets the commit's duration.
   */
  private async commitStep(
    rt: SessionRuntime,
    s: SessionRecord,
    c: {
      progress: RoundRecord;
      parentId: string;
      blob: { sha256: string; bytes: number; path: string };
      persisted: { json: unknown; sha: string | null };
      step: { model: Float32Array; state: unknown; metrics?: Metrics };
      layout: NonNullable<SessionRuntime['global']>['layout'];
      validationMetrics?: Metrics;
    },
  ): Promise<void> {
    const { progress, blob, step } = c;
    const { round, updates, weight, trainMetrics, timings } = progress;
    const modelId = `${s.id}.m${round}`;
    const committedAt = Date.now();
    const serverMetrics: Metrics = { ...(step.metrics ?? {}) };
    const validationMetrics = c.validationMetrics ?? {};
    const modelRec: ModelRecord = {
      id: modelId,
      parentId: c.parentId,
      sessionId: s.id,
      round,
      sha256: blob.sha256,
      bytes: blob.bytes,
      blobPath: blob.path,
      metrics: { ...prefix('train.', trainMetrics), ...prefix('val.', validationMetrics), ...prefix('server.', serverMetrics), updates, weight },
      createdAt: committedAt,
    };
    const final: RoundRecord = { ...progress, status: 'committed', committedAt, modelId, ...(c.validationMetrics ? { validationMetrics } : {}) };
    const metrics: MetricRow[] = [
      ...rows(s.id, round, 'train', trainMetrics),
      ...rows(s.id, round, 'validate', validationMetrics),
      ...rows(s.id, round, 'server', { ...serverMetrics, updates, weight }),
    ];
    await this.state.commitRound({
      model: modelRec,
      round: final,
      session: { id: s.id, currentModelId: modelId, completedRounds: round, strategyState: c.persisted.json, strategyStateSha: c.persisted.sha },
      metrics,
    });
    // The commit's own duration is recorded afterwards (metadata only; the round is already durable).
    timings['commit'] = Date.now() - committedAt;
    await this.state.putRound(final).catch((e: unknown) => this.log.warn({ err: toFedError(e).message }, 'recording round timings failed'));
    rt.state = step.state;
    rt.global = { modelId, layout: c.layout, flat: step.model };
    this.emit('model', modelRec);
    this.emit('round', final);
  }

  /** Ends a round without a new model (failed or aborted); a failed round still counts as done. */
  private async finishRound(rt: SessionRuntime, s: SessionRecord, rec: RoundRecord, counts: boolean): Promise<void> {
    if (counts) {
      const current = await this.mustSession(s.id);
      await this.state.commitRound({
        model: null,
        round: rec,
        session: { id: s.id, currentModelId: current.currentModelId, completedRounds: rec.round, strategyState: current.strategyState, strategyStateSha: current.strategyStateSha },
        metrics: rows(s.id, rec.round, 'train', rec.trainMetrics),
      });
    } else {
      await this.state.putRound(rec);
    }
    rt.live = null;
    this.emit('round', rec);
  }

  private async runValidation(
    s: SessionRecord,
    roundId: string,
    model: { id: string; sha256: string; bytes: number },
    pkg: PackageRecord,
    participants: Array<[CombinerHandle, string[]]>,
    signal: AbortSignal,
  ): Promise<Metrics> {
    const deadline = Date.now() + s.config.validateTimeoutMs;
    const grace = this.opts.partialGraceMs ?? 15_000;
    const outcomes = await Promise.all(
      participants.map(([h, ids]) =>
        this.registry.request<MessageOf<'validate.partial'>>(
          'validation',
          h,
          roundId,
          { v: 1, kind: 'validate.start', sessionId: s.id, roundId, model: modelRef(model), package: packageRef(pkg), clientIds: ids, deadline },
          deadline - Date.now() + grace,
          signal,
        ),
      ),
    );
    const sums: Record<string, number> = {};
    let examples = 0;
    let count = 0;
    for (const o of outcomes) {
      if (!o.ok) continue;
      examples += o.value.numExamples;
      count += o.value.count;
      for (const [k, v] of Object.entries(o.value.metricSums)) sums[k] = (sums[k] ?? 0) + v;
    }
    const out: Metrics = {};
    if (examples > 0) for (const [k, v] of Object.entries(sums)) out[k] = v / examples;
    if (count > 0) {
      out.clients = count;
      out.examples = examples;
    }
    return out;
  }

  // ------------------------------------------------------------------ asynchronous sessions (FedBuff)

  /**
   * The engine of `mode: 'async'` strategies (FedBuff, Nguyen et al. 2022, Algorithm 1): no round barrier.
   * One stream per run of the session (`round.prepare` + `round.start` with the stream id): every eligible
   * client trains on the newest model version its combiner knows; combiners forward each folded update at once
   * (`round.partial` of the stream, folded with its staleness); the controller merges them into a buffer and,
   * every K = `bufferSize` updates, applies the strategy's server step and commits version v+1 to the trail
   * like a round (model row with its parent, round row, session progress, in one transaction), then announces
   * it (`round.start`, same stream id, `round` = v+2). `rounds` counts versions. The stream ends
   * (`round.abort`) when the session completes, is paused (after the version in flight) or stopped.
   */
  private async runAsync(rt: SessionRuntime, s: SessionRecord): Promise<void> {
    const signal = rt.abort.signal;
    const strategy = rt.strategy as Strategy<unknown, unknown>;
    const bufferSize = Math.max(1, strategy.asyncConfig?.(rt.options).bufferSize ?? 1);
    const pkg = await this.state.getPackage(s.packageSha);
    if (!pkg) throw fedError('STORAGE', `session ${s.id} lost its package`);
    const stream: AsyncRun = { id: `${s.id}.a.${nonce()}`, members: new Map(), queue: new EventQueue(), bufferSize, pkg };
    let reason = 'session ended';
    try {
      const first = await this.asyncParticipants(s, stream.id, signal);
      if (!first) return;
      let initial: Map<string, string[]> | null = first;
      for (;;) {
        if (signal.aborted || this.closed) {
          reason = 'session stopped';
          return;
        }
        const cur = await this.mustSession(s.id);
        if (cur.status !== 'running') {
          reason = `session ${cur.status}`;
          return;
        }
        if (cur.completedRounds >= cur.config.rounds) {
          reason = 'session completed';
          return;
        }
        if (!(await this.runVersion(rt, cur, stream, initial))) return;
        initial = null;
      }
    } finally {
      for (const m of stream.members.values()) {
        m.stop();
        m.handle.peer.send({ v: 1, kind: 'round.abort', roundId: stream.id, reason });
      }
      stream.members.clear();
      rt.live = null;
    }
  }

  /** Waits until enough combiners have enough eligible clients (as a round's step 1); null when stopped/paused. */
  private async asyncParticipants(s: SessionRecord, streamId: string, signal: AbortSignal): Promise<Map<string, string[]> | null> {
    const config = s.config;
    let waitingLogged = false;
    for (;;) {
      if (signal.aborted || this.closed) return null;
      const current = await this.state.getSession(s.id);
      if (current?.status !== 'running') return null;
      const handles = this.registry.list();
      const answers = await Promise.all(
        handles.map((h) =>
          this.registry.request<string[]>('ready', h, streamId, { v: 1, kind: 'round.prepare', sessionId: s.id, roundId: streamId, selection: config.selection }, this.opts.prepareTimeoutMs ?? 5000, signal),
        ),
      );
      const out = new Map<string, string[]>();
      answers.forEach((a, i) => {
        if (a.ok && a.value.length >= config.clientsRequired) out.set((handles[i] as CombinerHandle).id, a.value);
      });
      if (out.size >= config.validity.minCombiners) return out;
      if (!waitingLogged) {
        this.log.info({ sessionId: s.id, combiners: handles.length, clientsRequired: config.clientsRequired }, 'async session: waiting for enough eligible clients');
        waitingLogged = true;
      }
      await this.sleep(this.opts.waitPollMs ?? 1000, signal);
    }
  }

  /**
   * Announces the version being built to every combiner of the stream, and brings in live combiners that now
   * have enough eligible clients (a `round.prepare` hands them the selection policy first).
   */
  private announceVersion(s: SessionRecord, stream: AsyncRun, msg: Omit<MessageOf<'round.start'>, 'clientIds' | 'deadline'>, initial: Map<string, string[]> | null): void {
    const config = s.config;
    for (const h of this.registry.list()) {
      let eligible: string[];
      if (initial) {
        eligible = initial.get(h.id) ?? [];
        if (!initial.has(h.id)) continue;
      } else {
        eligible = [...h.clients.values()].filter((c) => isEligible(c.capabilities, config.selection)).map((c) => c.clientId).sort();
        if (!stream.members.has(h.id)) {
          if (eligible.length < config.clientsRequired) continue;
          h.peer.send({ v: 1, kind: 'round.prepare', sessionId: s.id, roundId: stream.id, selection: config.selection });
        }
      }
      const member = stream.members.get(h.id);
      if (member?.handle !== h) {
        // New here (or the same id on a new link after a reconnect: it must open the stream again).
        member?.stop();
        if (member && !initial) h.peer.send({ v: 1, kind: 'round.prepare', sessionId: s.id, roundId: stream.id, selection: config.selection });
        const stop = this.registry.streamPartials(h, stream.id, (outcome) => stream.queue.push({ handle: h, outcome }));
        stream.members.set(h.id, { handle: h, stop });
      }
      h.peer.send({ ...msg, clientIds: eligible, deadline: Date.now() + config.roundTimeoutMs });
    }
  }

  /** One model version: collect K updates (or what arrived by the deadline), step, commit. False = stop. */
  private async runVersion(rt: SessionRuntime, s: SessionRecord, stream: AsyncRun, initial: Map<string, string[]> | null): Promise<boolean> {
    const signal = rt.abort.signal;
    const config = s.config;
    const strategy = rt.strategy as Strategy<unknown, unknown>;
    const global = rt.global as NonNullable<SessionRuntime['global']>;
    const round = s.completedRounds + 1;
    const ctx = this.context(s.id, round, config, global.layout);
    const model = await this.state.getModel(s.currentModelId);
    if (!model) throw fedError('STORAGE', `session ${s.id} lost its model`);
    const roundId = `${s.id}.r${round}.${nonce()}`;
    const startedAt = Date.now();
    let deadline = startedAt + config.roundTimeoutMs;
    const strategySettings = await this.strategySettings(rt, strategy, ctx);
    const manifest = stream.pkg.manifest as ComputePackageManifest;
    const start: Omit<MessageOf<'round.start'>, 'clientIds' | 'deadline'> = {
      v: 1,
      kind: 'round.start',
      sessionId: s.id,
      roundId: stream.id,
      round,
      seed: ctx.seed,
      ...(config.maxUpdateNorm !== undefined ? { maxUpdateNorm: config.maxUpdateNorm } : {}),
      model: modelRef(model),
      package: packageRef(stream.pkg),
      settings: clientSettings(config, manifest, round, strategySettings),
      strategy: { name: strategy.name, options: config.strategy.options },
      // Combiners forward every folded update at once (a batch of one), so the buffer steps at exactly K.
      quota: 1,
    };
    this.announceVersion(s, stream, start, initial);
    const record = trainingRecord(roundId, s.id, round, startedAt, deadline, [...stream.members.keys()]);
    await this.state.putRound(record);
    rt.live = { roundId, round, phase: 'training', combiners: record.combiners, selected: 0, deadline };
    this.log.info({ sessionId: s.id, streamId: stream.id, version: round - 1, combiners: record.combiners }, 'async session: collecting updates for the next version');

    // Collect: K updates, or at the deadline whatever arrived (if it is enough), else wait on.
    let buffer: PartialAggregate | null = null;
    const summaries = new Map<string, PartialSummary>();
    const metricParts: Array<{ metrics: Metrics; weight: number }> = [];
    const enough = Math.max(1, config.minClients, config.validity.minTotalUpdates);
    for (;;) {
      const ev = await stream.queue.next(Math.max(0, deadline - Date.now()), signal);
      if (ev === 'aborted' || this.closed) {
        if (!this.closed) await this.finishRound(rt, s, { ...record, status: 'aborted', reason: 'session stopped' }, false);
        return false;
      }
      if (ev === null) {
        if (buffer && buffer.count >= enough) break;
        const cur = await this.mustSession(s.id);
        if (cur.status !== 'running') {
          await this.finishRound(rt, s, { ...record, status: 'aborted', reason: `session ${cur.status} before the version filled` }, false);
          return false;
        }
        // Too few updates by the deadline: keep collecting, and bring in clients and combiners that came since.
        deadline = Date.now() + config.roundTimeoutMs;
        rt.live = { ...rt.live, deadline };
        this.announceVersion(s, stream, start, null);
        continue;
      }
      const { handle, outcome } = ev;
      if (!outcome.ok) {
        this.log.warn({ streamId: stream.id, combinerId: handle.id, err: outcome.error.message }, 'async session: a combiner left the stream');
        const member = stream.members.get(handle.id);
        if (member?.handle === handle) {
          member.stop();
          stream.members.delete(handle.id);
        }
        continue;
      }
      const meta = outcome.value.meta;
      let partial: PartialAggregate;
      try {
        partial = await decodePartial({ frame: outcome.value.frame, count: meta.count, totalWeight: meta.totalWeight, scalars: meta.scalars }, { tensorLength: ctx.paramCount });
      } catch (e) {
        this.log.warn({ streamId: stream.id, combinerId: handle.id, err: toFedError(e).message }, 'async session: a forwarded partial was refused');
        continue;
      }
      buffer = buffer ? strategy.mergePartials(rt.options, buffer, partial, ctx) : partial;
      metricParts.push({ metrics: meta.metrics, weight: partial.weight });
      const prev = summaries.get(handle.id);
      summaries.set(handle.id, {
        combinerId: handle.id,
        count: (prev?.count ?? 0) + meta.count,
        weight: (prev?.weight ?? 0) + meta.totalWeight,
        refusedStale: (prev?.refusedStale ?? 0) + meta.refusedStale,
        refused: (prev?.refused ?? 0) + meta.refused,
        ...(prev?.firstUpdateAt !== undefined || meta.firstUpdateAt !== undefined ? { firstUpdateAt: Math.min(prev?.firstUpdateAt ?? Infinity, meta.firstUpdateAt ?? Infinity) } : {}),
        ...(meta.lastUpdateAt !== undefined || prev?.lastUpdateAt !== undefined ? { lastUpdateAt: Math.max(prev?.lastUpdateAt ?? 0, meta.lastUpdateAt ?? 0) } : {}),
        receivedAt: outcome.value.receivedAt,
      });
      if (buffer.count >= stream.bufferSize) break;
    }

    // Step and commit, as a round's steps 5 and 7.
    rt.live = { ...rt.live, phase: 'reducing' };
    const merged = buffer as PartialAggregate;
    const partials = [...summaries.values()];
    const updates = merged.count;
    const weight = merged.weight;
    const lastUpdateAt = partials.reduce<number | null>((t, p) => (p.lastUpdateAt !== undefined && (t === null || p.lastUpdateAt > t) ? p.lastUpdateAt : t), null);
    const trainMetrics = mergeMetrics(metricParts);
    const timings: Record<string, number> = {};
    const progress: RoundRecord = { ...record, combiners: [...new Set([...record.combiners, ...summaries.keys()])], updates, weight, lastUpdateAt, partials, trainMetrics, timings };
    let t = Date.now();
    const step = strategy.serverStep(rt.options, rt.state, global.flat, merged, ctx);
    if (!step) {
      await this.finishRound(rt, s, { ...progress, status: 'failed', reason: 'the strategy kept the previous model' }, true);
      return true;
    }
    timings.step = Date.now() - t;
    t = Date.now();
    const frame = await encodeFrame(unflattenTensors(step.model, global.layout), { encoding: 'f32' });
    const blob = await this.blobs.put(frame);
    const modelId = `${s.id}.m${round}`;
    const persisted = await this.persistState(strategy, step.state);
    timings.store = Date.now() - t;
    await this.commitStep(rt, s, { progress, parentId: model.id, blob, persisted, step, layout: global.layout });
    this.log.info({ sessionId: s.id, streamId: stream.id, version: round, modelId, updates, weight, meanStaleness: step.metrics?.['meanStaleness'] }, 'async session: version committed');
    return true;
  }

  /** Stops every loop (the sessions stay `running` in the store, so a restart resumes them). */
  async close(): Promise<void> {
    this.closed = true;
    for (const rt of this.runtimes.values()) rt.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.runtimes.values()].map((r) => r.loop ?? Promise.resolve())),
      new Promise((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
  }
}

/** One run of an asynchronous session: its stream id, the combiners in it and what they forwarded. */
interface AsyncRun {
  id: string;
  members: Map<string, { handle: CombinerHandle; stop: () => void }>;
  queue: EventQueue<{ handle: CombinerHandle; outcome: Outcome<ReceivedPartial> }>;
  bufferSize: number;
  pkg: PackageRecord;
}

/** A FIFO the async engine awaits with a timeout and an abort signal (one reader). */
class EventQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | null = null;

  push(item: T): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(item);
    } else this.items.push(item);
  }

  /** The next item, `null` after `timeoutMs` without one, `'aborted'` when the signal fires. */
  next(timeoutMs: number, signal: AbortSignal): Promise<T | null | 'aborted'> {
    if (signal.aborted) return Promise.resolve('aborted');
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => {
      const done = (v: T | null | 'aborted'): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = null;
        resolve(v);
      };
      const onAbort = (): void => done('aborted');
      const timer = setTimeout(() => done(null), timeoutMs);
      this.waiter = (item) => done(item);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Example-weighted mean of per-partial metric means. */
function mergeMetrics(parts: Array<{ metrics: Metrics; weight: number }>): Metrics {
  const sums: Record<string, number> = {};
  const weights: Record<string, number> = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.metrics)) {
      sums[k] = (sums[k] ?? 0) + v * p.weight;
      weights[k] = (weights[k] ?? 0) + p.weight;
    }
  }
  const out: Metrics = {};
  for (const [k, v] of Object.entries(sums)) if ((weights[k] ?? 0) > 0) out[k] = v / (weights[k] as number);
  return out;
}

function prefix(p: string, m: Metrics): Metrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${p}${k}`, v]));
}

function rows(sessionId: string, round: number, scope: MetricRow['scope'], m: Metrics): MetricRow[] {
  return Object.entries(m).map(([name, value]) => ({ sessionId, round, scope, name, value }));
}

/**
 * The training settings clients get for round (or async version) `round`: the session's, over the package
 * manifest's defaults, with the round's decayed learning rate.
 */
export function clientSettings(config: SessionConfig, manifest: ComputePackageManifest, round: number, strategy: Record<string, unknown>): TrainSettings {
  return {
    localEpochs: config.localEpochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate * config.learningRateDecay ** Math.max(0, round - 1),
    encoding: config.encoding,
    ...(config.topkFraction !== undefined ? { topkFraction: config.topkFraction } : {}),
    strategy,
    extra: { ...(manifest.settings ?? {}), ...config.extra },
  };
}

/** The record of a round (or async version) that has just started training. */
function trainingRecord(id: string, sessionId: string, round: number, startedAt: number, deadline: number, combiners: string[]): RoundRecord {
  return {
    id,
    sessionId,
    round,
    status: 'training',
    startedAt,
    deadline,
    lastUpdateAt: null,
    committedAt: null,
    modelId: null,
    updates: 0,
    weight: 0,
    combiners,
    partials: [],
    trainMetrics: {},
    validationMetrics: {},
    timings: {},
    reason: null,
  };
}
