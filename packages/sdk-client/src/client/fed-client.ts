/**
 * client/ owns FedClient: joining a fedweb server, running the tasks it sends, uploading updates, resuming after reloads.
 *
 * This file is the facade: it wires the parts and owns the life cycle (start, stop, fail). The parts, in the order
 * of a round: session.ts (discover -> WebSocket -> hello -> welcome, heartbeats, reconnect with backoff) ->
 * resume.ts (what the cache holds after a reload, and resuming it) -> dispatcher.ts (the task queue) ->
 * tasks/train.ts, tasks/validate.ts -> downloads.ts (blobs: cache first, SHA-256 verified) -> trainer-host.ts (the
 * worker and its backend) -> uploader.ts (chunks, ack, retry). Beside them: withdrawal.ts (leaving a round when the
 * device stops meeting the session's conditions), reporter.ts (status and events),
 * storage.ts (opening the cache and the client id), endpoint.ts (HTTP base and token), context.ts (what the parts
 * share), options.ts, fatal.ts, ids.ts. Platform-neutral: the browser and Node entries inject a {@link FedPlatform}.
 *
 * The flow follows FEDn's client (https://docs.scaleoutsystems.com/): discover over HTTP -> one WebSocket to the
 * assigned combiner -> hello/welcome -> heartbeats -> task.train (fetch + verify package and model, train, upload
 * update + chunks, wait for update.ack) / task.validate (validation) / task.cancel (abort).
 */
import { fedError, toFedError, type FedError, type Message, type MessageOf } from '@fedweb/codec';
import type { ClientCache } from '../cache/types.js';
import type { BackendReport } from '../trainer/api.js';
import { withTimeout } from './abort.js';
import { AcknowledgedRounds } from './acknowledged.js';
import type { ClientContext } from './context.js';
import { Dispatcher } from './dispatcher.js';
import { Downloads } from './downloads.js';
import { Endpoint } from './endpoint.js';
import { isPermanentTaskError, PERMANENT_CODES } from './fatal.js';
import { checkOptions, resolveLimits } from './options.js';
import { Reporter } from './reporter.js';
import { resume, type ResumeParts } from './resume.js';
import { Session } from './session.js';
import { openStorage } from './storage.js';
import { runTrain, type TrainParts } from './tasks/train.js';
import { runValidate, type ValidateParts } from './tasks/validate.js';
import { TrainerHost } from './trainer-host.js';
import type { ClientStatus, FedClientEvents, FedClientOptions, FedPlatform } from './types.js';
import { Uploader } from './uploader.js';
import { Withdrawal } from './withdrawal.js';

/**
 * The federated-learning client core. Use the platform entry points: `FedClient` from `@fedweb/sdk-client`
 * (browsers) or from `@fedweb/sdk-client/node` (Node), which subclass this with their platform wiring.
 * @example
 * ```ts
 * const client = new FedClient({ server: 'https://fl.example.com', data: { load: () => myDataset } });
 * client.on('round', (r) => console.log(r.roundId, r.phase));
 * await client.start();
 * ```
 */
export class FedClientCore {
  readonly #ctx: ClientContext;
  readonly #reporter: Reporter;
  readonly #session: Session;
  readonly #dispatcher: Dispatcher;
  readonly #uploader: Uploader;
  readonly #host: TrainerHost;
  readonly #downloads: Downloads;
  readonly #withdrawal: Withdrawal;
  readonly #trainParts: TrainParts;
  readonly #validateParts: ValidateParts;
  readonly #resumeParts: ResumeParts;

  #cache: ClientCache | undefined;
  #clientId: string | undefined;
  #deviceKey = '';
  #stopCtl: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #startPromise: Promise<void> | undefined;
  #startSettle: { resolve(): void; reject(e: FedError): void } | undefined;
  #offSignal: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: FedClientOptions, platform: FedPlatform) {
    const timeouts = checkOptions(options);
    this.#reporter = new Reporter(options.logger, () => ({
      clientId: this.#clientId,
      combinerId: this.#session.combinerId,
      backend: this.#host.backend,
      cache: this.#cache?.kind,
    }));
    const ctx: ClientContext = {
      options,
      platform,
      timeouts,
      limits: resolveLimits(options),
      acknowledged: new AcknowledgedRounds(),
      reporter: this.#reporter,
      endpoint: new Endpoint(options.server, platform.fetch, options.token, timeouts.discoverMs, options.trustedOrigins),
      cache: () => this.#cache,
      clientId: () => this.#clientId!,
      deviceKey: () => this.#deviceKey,
      connection: () => this.#session.connection,
    };
    this.#ctx = ctx;
    const downloads = new Downloads(ctx);
    this.#downloads = downloads;
    this.#host = new TrainerHost(ctx, downloads);
    this.#uploader = new Uploader(ctx, { rejoin: (e) => this.#session.close(`upload refused with ${e.code}; joining again`), settled: () => this.#settled() });
    this.#dispatcher = new Dispatcher(ctx, { settled: () => this.#settled() });
    this.#withdrawal = new Withdrawal(ctx, () => this.#session.capabilities());
    this.#trainParts = { ctx, downloads, host: this.#host, uploader: this.#uploader, withdrawal: this.#withdrawal };
    this.#validateParts = { ctx, downloads, host: this.#host };
    this.#resumeParts = { ctx, uploader: this.#uploader, dispatcher: this.#dispatcher, train: (task, stop) => this.#queueTrain(task, stop) };
    this.#session = new Session(ctx, {
      backend: () => this.#host.backend,
      onWelcome: (welcome) => this.#onWelcome(welcome),
      onMessage: (m) => this.#route(m),
      onCapabilities: (caps) => this.#withdrawal.observe(caps),
    });
  }

  /** The current status (also announced by the `status` event). */
  get status(): ClientStatus {
    return this.#reporter.status;
  }

  /** The client id (known after `start()` resolved or from `options.id`). */
  get clientId(): string | undefined {
    return this.#clientId ?? this.#ctx.options.id;
  }

  /** The backend in use and why the others lost, once a package was loaded. */
  get backend(): BackendReport | undefined {
    return this.#host.backend;
  }

  /**
   * Subscribes to an event; returns the unsubscribe function. Handlers never break the client: a handler
   * that throws is logged and ignored.
   * @example
   * ```ts
   * const off = client.on('metrics', (m) => console.log(m.task, m.metrics));
   * off();
   * ```
   */
  on<K extends keyof FedClientEvents>(event: K, handler: (payload: FedClientEvents[K]) => void): () => void {
    return this.#reporter.on(event, handler);
  }

  /**
   * Leaves the round this client is training (reason `user`): sends `withdraw`, aborts the training in the worker,
   * and emits `withdrawn`. The client stays connected and may be picked for a later round. Returns false when no
   * training was under way (an update already trained is uploaded, not withdrawn). The session's device conditions
   * (battery, metered connection, hidden page) withdraw by themselves.
   * @example
   * ```ts
   * pauseButton.onclick = () => client.withdraw();
   * ```
   */
  withdraw(): boolean {
    return this.#withdrawal.user();
  }

  /**
   * Opens the cache, then connects and keeps connecting (with backoff, forever) until `stop()`. Resolves once
   * the first `welcome` arrived; rejects with the error if the server refuses the client for good (its typed
   * `UNAUTHORIZED`, `FORBIDDEN` or `VERSION_MISMATCH`, see fatal.ts; never with `retry: 'always'`), or with
   * `ABORTED` if stopped before.
   * Calling it while started returns the same promise.
   * @example
   * ```ts
   * await client.start();
   * ```
   */
  start(): Promise<void> {
    if (this.#startPromise && this.status !== 'stopped' && this.status !== 'failed') return this.#startPromise;
    const stopCtl = new AbortController();
    this.#stopCtl = stopCtl;
    this.#startPromise = new Promise<void>((resolve, reject) => {
      this.#startSettle = { resolve, reject };
    });
    // The caller may never await start(); a rejection is also reported through 'error' and 'status'.
    this.#startPromise.catch(() => {});
    const ext = this.#ctx.options.signal;
    if (ext) {
      if (ext.aborted) {
        void this.stop();
        return this.#startPromise;
      }
      const onAbort = () => void this.stop();
      ext.addEventListener('abort', onAbort, { once: true });
      this.#offSignal = () => ext.removeEventListener('abort', onAbort);
    }
    this.#reporter.setStatus('starting');
    this.#loop = this.#main(stopCtl.signal).catch((e) => {
      this.#fail(toFedError(e));
    });
    return this.#startPromise;
  }

  /**
   * Starts again after `failed` (or `stop()`): the way back from a permanent refusal once its cause is fixed,
   * e.g. with the new token an operator issued. Waits for `start()`'s promise.
   * @example
   * ```ts
   * client.on('failed', async (err) => { if (err.code === 'UNAUTHORIZED') await client.restart({ token: await renewToken() }); });
   * ```
   */
  async restart(opts: { token?: FedClientOptions['token'] } = {}): Promise<void> {
    await this.stop();
    if (opts.token !== undefined) this.#ctx.endpoint.setToken(opts.token);
    return this.start();
  }

  /**
   * Stops: aborts training (AbortSignal to the trainer), closes the socket, terminates the worker, closes the cache.
   * A trained update not yet acknowledged stays in the cache and is uploaded after the next `start()` if its
   * round is still open. Safe to call more than once.
   * @example
   * ```ts
   * window.addEventListener('pagehide', () => void client.stop());
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const ctl = this.#stopCtl;
    if (!ctl || this.status === 'stopped') return;
    const reason = fedError('ABORTED', 'FedClient.stop() was called');
    if (!ctl.signal.aborted) ctl.abort(reason);
    this.#dispatcher.abortAll(reason);
    this.#session.close('client stopped');
    this.#host.abort('client stopped');
    try {
      await withTimeout(Promise.allSettled([this.#loop, this.#dispatcher.drained()]).then(() => {}), this.#ctx.timeouts.stopMs, 'stop()');
    } catch {
      // Work that does not wind down in time is cut off below by terminating the trainer.
    }
    await this.#shutdown();
    this.#startSettle?.reject(reason);
    this.#startSettle = undefined;
    this.#reporter.setStatus('stopped');
  }

  /** Opens the cache, then runs the session until stopped. */
  async #main(signal: AbortSignal): Promise<void> {
    const storage = await openStorage(this.#ctx.options, this.#ctx.platform, (m) => this.#reporter.warn(m));
    this.#cache = storage.cache;
    this.#clientId = storage.clientId;
    this.#deviceKey = storage.deviceKey;
    if (signal.aborted) {
      // stop() ran while the cache was opening: it could not close what did not exist yet.
      await this.#closeCache();
      return;
    }
    await this.#session.run(signal);
  }

  /** Joined: start() resolves, and unfinished work resumes if its round is still open. */
  #onWelcome(welcome: MessageOf<'welcome'>): void {
    this.#startSettle?.resolve();
    this.#startSettle = undefined;
    const stop = this.#stopCtl?.signal;
    if (stop) resume(this.#resumeParts, welcome, stop).catch((e) => this.#reporter.error(toFedError(e)));
  }

  /** Routes a message from the combiner: tasks to the dispatcher, a late ack to the uploader, errors to the page. */
  #route(m: Message): void {
    const stop = this.#stopCtl?.signal;
    if (!stop || stop.aborted) return;
    switch (m.kind) {
      case 'task.train':
        return this.#queueTrain(m, stop);
      case 'model.prefetch':
        return this.#downloads.prefetch(m, stop);
      case 'task.validate':
        return this.#dispatcher.validate(m, stop, (s) => this.#failIfFatal(runValidate(this.#validateParts, m, s)));
      case 'task.cancel':
        return this.#dispatcher.cancel(m);
      case 'update.ack':
        return this.#uploader.lateAck(m.uploadId);
      case 'error': {
        // Never fatal on its own (a broken or hostile combiner may send anything): reported, and an auth or
        // version complaint makes the client join again, where the answer to `hello` decides.
        const err = fedError(m.code, `the combiner reported: ${m.message}`, m.ref ? { ref: m.ref } : undefined);
        this.#reporter.error(err);
        if (PERMANENT_CODES.has(err.code)) this.#session.close(`the combiner reported ${err.code}; joining again`);
        return;
      }
      case 'welcome':
        return;
      default:
        this.#reporter.error(fedError('BAD_MESSAGE', `the combiner sent a '${m.kind}' message, which clients do not handle; ignored`));
    }
  }

  #queueTrain(task: MessageOf<'task.train'>, stop: AbortSignal): void {
    this.#dispatcher.train(task, stop, (s, active) => this.#failIfFatal(runTrain(this.#trainParts, task, s, active)));
  }

  /** A task that ends with a refusal retrying cannot cure (an untrusted package) stops the client for good. */
  #failIfFatal(task: Promise<void>): Promise<void> {
    return task.catch((e: unknown) => {
      const err = toFedError(e);
      if (isPermanentTaskError(err, this.#ctx.options.retry)) this.#fail(err);
      throw err;
    });
  }

  /**
   * A task or an upload ended: back to `connected` once nothing runs (and the connection is up). Both ends report
   * here, so an upload resumed outside the task queue (after a reload) also returns the status to `connected`.
   */
  #settled(): void {
    if (this.#stopCtl?.signal.aborted || !this.#session.connection?.isOpen) return;
    if (this.#dispatcher.idle && this.#uploader.idle) this.#reporter.setStatus('connected');
  }

  /** A permanent refusal (see fatal.ts): stop everything and report `failed` (and the `failed` event). */
  #fail(err: FedError): void {
    if (this.status === 'failed' || this.status === 'stopped') return;
    this.#reporter.error(err);
    this.#stopCtl?.abort(err);
    this.#dispatcher.abortAll(err);
    this.#session.close('client failed');
    this.#startSettle?.reject(err);
    this.#startSettle = undefined;
    this.#reporter.holdStatus('failed');
    void this.#shutdown().finally(() => {
      this.#reporter.setStatus('failed', { error: err });
      this.#reporter.failed(err);
    });
  }

  async #shutdown(): Promise<void> {
    this.#session.stopHeartbeat();
    this.#offSignal?.();
    this.#offSignal = undefined;
    await this.#host.dispose();
    await this.#closeCache();
  }

  async #closeCache(): Promise<void> {
    const cache = this.#cache;
    this.#cache = undefined;
    await cache?.close().catch(() => {});
  }
}
