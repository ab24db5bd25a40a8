/**
 * Sessions: start (one active session at a time, serialized), pause, resume, stop, and each running session's
 * loop, which runs rounds (or the async engine) until the session completes, and resumes after a restart from
 * the last committed model.
 */
import { fedError, toFedError } from '@fedweb/codec';
import { parseBody, StartSessionSchema } from '../http/schemas.js';
import { runAsyncSession, runSyncRound } from '../round/index.js';
import type { RoundRecord, SessionRecord } from '../store/types.js';
import { emit, newRuntime, type ControllerDeps, type LiveRound, type SessionRuntime } from './runtime.js';
import { hydrate, loadGlobal, nonce, persistState, roundContext, strategyOf, strategyOptions } from './session-state.js';

/**
 * The sessions and their loops.
 * @example
 * ```ts
 * const sessions = new Sessions(deps);
 * await sessions.init();
 * const s = await sessions.start({ rounds: 3 });
 * ```
 */
export class Sessions {
  private readonly runtimes = new Map<string, SessionRuntime>();
  /** The tail of the chain that serializes {@link start}: one check-then-create at a time. */
  private starting: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ControllerDeps) {}

  /** Resumes sessions left running by a previous process (kill -9 included). */
  async init(): Promise<void> {
    const interrupted = await this.deps.state.interruptOpenRounds();
    if (interrupted > 0) this.deps.log.warn({ interrupted }, 'rounds interrupted by a restart will be re-run');
    for (const s of await this.deps.state.listSessions()) {
      if (s.status === 'running') {
        this.deps.log.info({ sessionId: s.id, completedRounds: s.completedRounds, modelId: s.currentModelId }, 'resuming session from its last committed model');
        this.launch(s.id);
      }
    }
  }

  /**
   * Validates the config and starts a session on the active package. Starts are serialized: the "another
   * session active?" check and the creation are separated by awaits, so two concurrent starts would otherwise
   * both pass the check.
   * @throws FedError BAD_CONFIG (invalid config), CONFLICT (another session active, or no package).
   */
  start(input: unknown): Promise<SessionRecord> {
    const run = this.starting.then(() => this.startNow(input));
    this.starting = run.catch(() => undefined);
    return run;
  }

  private async startNow(input: unknown): Promise<SessionRecord> {
    const { state, log } = this.deps;
    const { id: requestedId, ...config } = parseBody(StartSessionSchema, input ?? {}, 'session config');
    const strategy = strategyOf(config);
    const options = strategyOptions(strategy, config);
    const active = (await state.listSessions()).find((s) => s.status === 'running' || s.status === 'paused');
    if (active) throw fedError('CONFLICT', `session ${active.id} is ${active.status}; stop it first`);
    const pkg = await state.getActivePackage();
    if (!pkg) throw fedError('CONFLICT', 'no compute package: upload one first (POST /api/packages or --package)');
    const initialModelId = config.initialModelId ?? pkg.seedModelId;
    const initial = await state.getModel(initialModelId);
    if (!initial) throw fedError('NOT_FOUND', `no model ${initialModelId}`);
    const id = requestedId ?? `s${Date.now().toString(36)}${nonce()}`;
    if (await state.getSession(id)) throw fedError('CONFLICT', `session ${id} exists`);
    const global = await loadGlobal(this.deps, initial);
    const stateValue = strategy.initState(options, global.flat, roundContext(id, 0, config, global.layout));
    const persisted = await persistState(this.deps, strategy, stateValue);
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
    await state.createSession(rec);
    const rt = this.runtime(id);
    rt.strategy = strategy;
    rt.options = options;
    rt.state = stateValue;
    rt.global = global;
    log.info({ sessionId: id, rounds: config.rounds, strategy: strategy.name }, 'session started');
    if (strategy.mode === 'async' && (config.clientsPerRound !== undefined || config.validate)) {
      // The asynchronous engine: every eligible client trains; no sampling, no validation tasks.
      log.warn({ sessionId: id, strategy: strategy.name }, 'async strategy: clientsPerRound and validate are ignored (every eligible client trains continuously)');
    }
    emit(this.deps, 'session', rec);
    this.launch(id);
    return rec;
  }

  /** Pauses a running session (the current round finishes). */
  async pause(id: string): Promise<SessionRecord> {
    const s = await this.must(id);
    if (s.status !== 'running') throw fedError('CONFLICT', `session ${id} is ${s.status}, not running`);
    await this.deps.state.updateSession(id, { status: 'paused' });
    this.deps.log.info({ sessionId: id }, 'session paused (the current round finishes)');
    return this.emitSession(id);
  }

  /** Resumes a paused session. */
  async resume(id: string): Promise<SessionRecord> {
    const s = await this.must(id);
    if (s.status !== 'paused') throw fedError('CONFLICT', `session ${id} is ${s.status}, not paused`);
    await this.deps.state.updateSession(id, { status: 'running' });
    this.deps.log.info({ sessionId: id }, 'session resumed');
    this.launch(id);
    return this.emitSession(id);
  }

  /**
   * Stops a session: its round in flight ends `aborted` (whatever phase it is in, validation included) and
   * commits nothing. The abort fires before the status is written, so a round cannot pass its last check
   * before the commit while the stop is being recorded.
   */
  async stop(id: string): Promise<SessionRecord> {
    const s = await this.must(id);
    if (s.status !== 'running' && s.status !== 'paused') throw fedError('CONFLICT', `session ${id} is already ${s.status}`);
    this.runtimes.get(id)?.abort.abort();
    await this.deps.state.updateSession(id, { status: 'stopped' });
    // A runtime whose loop already ended (or never ran) is freed here; a running loop frees it when it ends.
    const rt = this.runtimes.get(id);
    if (rt && !rt.loop) this.runtimes.delete(id);
    this.deps.log.info({ sessionId: id }, 'session stopped');
    return this.emitSession(id);
  }

  /**
   * Rolls a running or paused session back to an earlier model of its trail (one of its own models, or the model
   * it started from): the next round trains that model and its commit names it as the parent. A round in flight
   * ends `aborted` (nothing of it is committed); the strategy state and the rounds count are kept. Returns the
   * session and the model it was at before.
   * @throws FedError NOT_FOUND (no such session or model), CONFLICT (the session has ended, or the model is not in its trail).
   */
  async rollback(id: string, modelId: string): Promise<{ session: SessionRecord; previousModelId: string }> {
    const s = await this.must(id);
    if (s.status !== 'running' && s.status !== 'paused') throw fedError('CONFLICT', `session ${id} is ${s.status}: start a new session with initialModelId '${modelId}' instead`);
    const model = await this.deps.state.getModel(modelId);
    if (!model) throw fedError('NOT_FOUND', `no model ${modelId}`);
    if (model.sessionId !== id && model.id !== s.initialModelId) throw fedError('CONFLICT', `model ${modelId} is not in the trail of session ${id}`);
    const rt = this.runtimes.get(id);
    if (rt?.loop) {
      rt.abort.abort('rolled back');
      await rt.loop;
    }
    await this.deps.state.updateSession(id, { currentModelId: modelId });
    this.deps.log.info({ sessionId: id, modelId, previousModelId: s.currentModelId }, 'session rolled back: the next round trains an earlier model');
    const after = await this.must(id);
    if (after.status === 'running') this.launch(id);
    emit(this.deps, 'session', after);
    return { session: after, previousModelId: s.currentModelId };
  }

  /** A session, its rounds and its live round. */
  async get(id: string): Promise<{ session: SessionRecord; rounds: RoundRecord[]; live: LiveRound | null }> {
    const session = await this.must(id);
    return { session, rounds: await this.deps.state.listRounds(id), live: this.runtimes.get(id)?.live ?? null };
  }

  /** The live round of each session that has one. */
  liveRounds(): Array<LiveRound & { sessionId: string }> {
    return [...this.runtimes.values()].filter((r) => r.live).map((r) => ({ sessionId: r.id, ...(r.live as LiveRound) }));
  }

  /** Resolves when the session reaches a status in `statuses` (its final ones by default). */
  waitFor(id: string, statuses: SessionRecord['status'][], timeoutMs: number): Promise<SessionRecord> {
    const events = this.deps.events;
    return new Promise((resolve, reject) => {
      const onSession = (s: SessionRecord): void => {
        if (s.id === id && statuses.includes(s.status)) done(null, s);
      };
      const timer = setTimeout(() => done(fedError('TIMEOUT', `session ${id} did not reach ${statuses.join('/')} in ${timeoutMs} ms`)), timeoutMs);
      const done = (err: Error | null, s?: SessionRecord): void => {
        clearTimeout(timer);
        events.off('session', onSession);
        if (err) reject(err);
        else resolve(s as SessionRecord);
      };
      events.on('session', onSession);
      void this.deps.state.getSession(id).then((s) => {
        if (s && statuses.includes(s.status)) done(null, s);
      }, (e: unknown) => done(toFedError(e)));
    });
  }

  /** Aborts every loop and waits (bounded) for them to end. */
  async close(): Promise<void> {
    for (const rt of this.runtimes.values()) rt.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.runtimes.values()].map((r) => r.loop ?? Promise.resolve())),
      new Promise((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
  }

  private async emitSession(id: string): Promise<SessionRecord> {
    const s = await this.must(id);
    emit(this.deps, 'session', s);
    return s;
  }

  private async must(id: string): Promise<SessionRecord> {
    const s = await this.deps.state.getSession(id);
    if (!s) throw fedError('NOT_FOUND', `no session ${id}`);
    return s;
  }

  private runtime(id: string): SessionRuntime {
    let rt = this.runtimes.get(id);
    if (!rt) {
      rt = newRuntime(id);
      this.runtimes.set(id, rt);
    }
    return rt;
  }

  /** Starts the session's loop unless it already runs. */
  private launch(id: string): void {
    const rt = this.runtime(id);
    const closed = (): boolean => this.deps.isClosed();
    if (rt.loop || closed()) return;
    if (rt.abort.signal.aborted) rt.abort = new AbortController();
    rt.loop = this.loop(rt)
      .catch(async (e: unknown) => {
        const err = toFedError(e);
        this.deps.log.error({ sessionId: id, code: err.code, err: err.message }, 'session failed');
        if (!closed()) {
          await this.deps.state.updateSession(id, { status: 'failed', error: err.message }).catch(() => undefined);
          await this.emitSession(id).catch(() => undefined);
        }
      })
      .finally(() => {
        rt.loop = null;
        rt.live = null;
        // A resume that came while the loop was finishing its last round: run again.
        if (!closed()) {
          void this.deps.state.getSession(id).then((s) => {
            if (s?.status === 'running' && s.completedRounds < s.config.rounds && !rt.abort.signal.aborted) this.launch(id);
            // A finished session's runtime holds its global model: free it.
            else if (s && ['completed', 'stopped', 'failed'].includes(s.status) && !rt.loop) this.runtimes.delete(id);
          }, () => undefined);
        }
      });
  }

  private async loop(rt: SessionRuntime): Promise<void> {
    while (!this.deps.isClosed() && !rt.abort.signal.aborted) {
      const s = await this.must(rt.id);
      if (s.status !== 'running') return;
      if (s.completedRounds >= s.config.rounds) {
        await this.deps.state.updateSession(s.id, { status: 'completed' });
        this.deps.log.info({ sessionId: s.id, rounds: s.completedRounds, modelId: s.currentModelId }, 'session completed');
        await this.emitSession(s.id);
        return;
      }
      await hydrate(this.deps, rt, s);
      if (rt.strategy?.mode === 'async') await runAsyncSession(this.deps, rt, s);
      else await runSyncRound(this.deps, rt, s);
    }
  }
}
