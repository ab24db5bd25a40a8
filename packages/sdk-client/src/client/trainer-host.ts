/**
 * The trainer the client drives (a Web Worker in browsers, in-process in Node): created on first use, given the
 * data and the compute package, on the backend chosen once per package and device (the decision is cached and
 * reported), replaced when it dies or hangs, and terminated at stop.
 */
import { fedError, toFedError, type BlobRef } from '@fedweb/codec';
import type { BackendReport, TrainerApi } from '../trainer/api.js';
import { withTimeout } from './abort.js';
import { requireCache, type ClientContext } from './context.js';
import { checkDataset } from './dataset.js';
import type { Downloads } from './downloads.js';
import type { TrainerHandle } from './types.js';

/** How long an aborted or timed-out trainer call may take to wind down before the trainer is terminated. */
const ABORT_GRACE_MS = 2000;
/** How many times a task is retried after the trainer died under it. */
const MAX_TRAINER_RESTARTS = 2;

/**
 * Holds the trainer.
 * @example
 * ```ts
 * const host = new TrainerHost(ctx, downloads);
 * const result = await host.run(task.package, signal, (t) => host.call(t, 'validating', 60_000, signal, t.validate(model)));
 * ```
 */
export class TrainerHost {
  #trainer: TrainerHandle | undefined;
  #setup: Promise<TrainerHandle> | undefined;
  #dataSet = false;
  #loadedPackage: string | undefined;
  #backend: BackendReport | undefined;
  #examples: number | undefined;

  constructor(
    private readonly ctx: ClientContext,
    private readonly downloads: Downloads,
  ) {}

  /** The backend in use and why the others lost, once a package was loaded. */
  get backend(): BackendReport | undefined {
    return this.#backend;
  }

  /** How many local examples the trainer holds, once the data is loaded. */
  get examples(): number | undefined {
    return this.#examples;
  }

  /** Tells the current trainer, if any, to abort what it is doing (best effort). */
  abort(reason: string): void {
    const t = this.#trainer;
    if (t) void t.api.abort(reason).catch(() => {});
  }

  /**
   * Runs `fn` against a trainer with the package loaded. When the trainer dies under it (`WORKER_DIED`), the
   * trainer is restarted (data and package reloaded) and `fn` runs again, up to {@link MAX_TRAINER_RESTARTS} times.
   */
  async run<T>(pkg: BlobRef, signal: AbortSignal, fn: (t: TrainerApi) => Promise<T>): Promise<T> {
    for (let restarts = 0; ; restarts++) {
      try {
        const t = await this.#ensure(pkg, signal);
        return await fn(t.api);
      } catch (e) {
        const err = toFedError(e);
        if (err.code === 'WORKER_DIED' || err.code === 'TIMEOUT') {
          // A dead or hung trainer is replaced; a hung one must not keep the next task waiting.
          await this.dispose();
          if (err.code === 'WORKER_DIED' && restarts < MAX_TRAINER_RESTARTS && !signal.aborted) {
            this.ctx.reporter.error(fedError('WORKER_DIED', `${err.message}; restarting the trainer and resuming`, undefined, err));
            continue;
          }
        }
        throw err;
      }
    }
  }

  /**
   * One trainer call bounded by a timeout and the task's signal. On abort or timeout the trainer is told to stop;
   * one that does not wind down within {@link ABORT_GRACE_MS} (package code ignoring the abort, or looping) is
   * terminated, and the next task starts a fresh one.
   */
  async call<T>(t: TrainerApi, what: string, timeoutMs: number, signal: AbortSignal, work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => true,
      () => true,
    );
    try {
      return await withTimeout(work, timeoutMs, what, signal);
    } catch (e) {
      const err = toFedError(e);
      if (err.code === 'ABORTED' || err.code === 'TIMEOUT') {
        // Best effort: a dead trainer cannot answer, and that must not mask the abort.
        await withTimeout(t.abort(err.message), ABORT_GRACE_MS, 'trainer.abort()').catch(() => {});
        const stopped = await withTimeout(settled, ABORT_GRACE_MS, `${what} winding down`).catch(() => false);
        if (!stopped) {
          this.ctx.reporter.warn(`fedweb: ${what} did not stop within ${ABORT_GRACE_MS} ms of ${err.code === 'TIMEOUT' ? 'its timeout' : 'the abort'}; terminating the trainer`);
          await this.dispose();
        }
      }
      throw err;
    }
  }

  /** Terminates the trainer (bounded: a hung one is abandoned); the next task starts a fresh one. */
  async dispose(): Promise<void> {
    const t = this.#trainer;
    this.#trainer = undefined;
    this.#loadedPackage = undefined;
    this.#dataSet = false;
    if (!t) return;
    // terminate() disposes the trainer's tensors (in-process) or ends the worker.
    await withTimeout(Promise.resolve().then(() => t.terminate()), 5000, 'terminating the trainer').catch(() => {});
  }

  /** Creates the trainer if needed, loads the data into it, and loads the package `pkg` (choosing the backend). */
  async #ensure(pkg: BlobRef, signal: AbortSignal): Promise<TrainerHandle> {
    if (this.#trainer && this.#loadedPackage === pkg.sha256) return this.#trainer;
    const { options, timeouts } = this.ctx;
    const ms = timeouts.trainerSetupMs;
    if (!this.#trainer) this.#trainer = await this.#create(signal);
    const handle = this.#trainer;
    const t = handle.api;
    const cache = requireCache(this.ctx);
    const { code, manifest } = await this.downloads.package(pkg, signal);
    const choice = options.backend ?? 'auto';
    const key = `${pkg.sha256}|${this.ctx.deviceKey()}`;
    const cached = choice === 'auto' ? await cache.getBackend(key) : undefined;
    const wasm = options.wasmPaths ? { wasmPaths: options.wasmPaths } : {};
    let report: BackendReport;
    try {
      await this.call(t, 'trainer.init', ms, signal, t.init({ backend: cached ? cached.report.chosen : choice, ...wasm }));
      report = await this.call(t, 'loading the compute package', ms, signal, t.loadPackage(code, manifest));
      if (cached) report = { ...cached.report, cached: true };
    } catch (e) {
      const err = toFedError(e);
      if (!cached || err.code !== 'BACKEND_UNAVAILABLE') throw err;
      // The cached decision no longer holds (browser update, GPU blocklisted): probe again.
      await this.call(t, 'trainer.init', ms, signal, t.init({ backend: 'auto', ...wasm }));
      const again = await this.downloads.package(pkg, signal);
      report = await this.call(t, 'loading the compute package', ms, signal, t.loadPackage(again.code, again.manifest));
    }
    if (choice === 'auto' && !report.cached) await cache.putBackend({ key, report, storedAt: Date.now() });
    if (!this.#dataSet) {
      const data = checkDataset(await withTimeout(Promise.resolve(options.data.load()), timeouts.dataMs, 'data.load()', signal));
      this.#examples = data.x.length / data.xShape.reduce((a, b) => a * b, 1);
      await this.call(t, 'trainer.setData', ms, signal, t.setData(data));
      this.#dataSet = true;
    }
    this.#loadedPackage = pkg.sha256;
    this.#backend = report;
    this.ctx.reporter.setStatus(this.ctx.reporter.status, { backend: report });
    return handle;
  }

  /** Starts a trainer from `options.trainer` or the platform's default; concurrent callers share one start. */
  async #create(signal: AbortSignal): Promise<TrainerHandle> {
    this.#setup ??= (async () => {
      const factory = this.ctx.options.trainer ?? this.ctx.platform.createTrainer;
      const t = await withTimeout(Promise.resolve(factory()), this.ctx.timeouts.trainerSetupMs, 'starting the trainer', signal);
      this.#dataSet = false;
      this.#loadedPackage = undefined;
      // A trainer that dies between tasks is dropped now, so the next task starts a fresh one.
      void t.died?.then(() => {
        if (this.#trainer === t) void this.dispose();
      });
      return t;
    })().finally(() => {
      this.#setup = undefined;
    });
    return this.#setup;
  }
}
