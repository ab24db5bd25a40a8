/**
 * Public types of FedClient: options, data providers, events, and the platform seam that lets the same client
 * run in browsers (Web Worker trainer, IndexedDB, global WebSocket) and in Node (in-process trainer, file cache, `ws`).
 */
import type { Capabilities, Compressor, FedError, Metrics, WithdrawReason } from '@fedweb/codec';
import type { BackendChoice, BackendReport, Dataset, TrainerApi, TrainProgress } from '../trainer/api.js';
import type { ClientCache, CacheKind } from '../cache/types.js';
import type { BackoffOptions } from '@fedweb/codec';
import type { SocketConstructor } from '../transport/socket.js';
import type { FetchLike } from '../transport/http.js';
import type { RetryMode } from './fatal.js';
import type { SettingsBounds } from './settings-bounds.js';

/**
 * Where the local examples come from. `load()` is called when the trainer starts, and again if the worker has to be
 * restarted: return fresh arrays each time (the buffers are transferred to the worker, which detaches them here).
 * The data never leaves the device: only weight updates are sent.
 * @example
 * ```ts
 * const data: DataProvider = {
 *   load: () => ({ x: new Float32Array(pixels), xShape: [28, 28, 1], y: new Int32Array(labels), yShape: [] }),
 * };
 * ```
 */
export interface DataProvider {
  load(): Promise<Dataset> | Dataset;
}

/**
 * A trainer instance FedClient drives: `createWorkerTrainer()` (browsers) and `createInProcessTrainer()` (Node) return one.
 * `terminate()` ends it at once (pending calls reject with `WORKER_DIED`); `died`, when present, resolves when it died
 * on its own, so FedClient replaces it before the next task.
 * @example
 * ```ts
 * const handle: TrainerHandle = createWorkerTrainer();
 * await handle.api.init({ backend: 'auto' });
 * await handle.terminate();
 * ```
 */
export interface TrainerHandle {
  api: TrainerApi;
  terminate(): void | Promise<void>;
  died?: Promise<unknown>;
}

/**
 * Creates a fresh trainer. Called at start and after the trainer died (pending calls rejected with `WORKER_DIED`).
 * @example
 * ```ts
 * new FedClient({ server, data, trainer: () => createWorkerTrainer() });
 * ```
 */
export type TrainerFactory = () => TrainerHandle | Promise<TrainerHandle>;

/**
 * Bounds on every wait that crosses a boundary, ms.
 * @example
 * ```ts
 * new FedClient({ server, data, timeouts: { downloadMs: 300_000, trainMs: 60 * 60_000 } });
 * ```
 */
export interface FedClientTimeouts {
  /** `POST /api/discover` (default 10 s). */
  discoverMs: number;
  /** WebSocket handshake (default 10 s). */
  connectMs: number;
  /** From `hello` to `welcome` (default 10 s). */
  welcomeMs: number;
  /** One model or package download (default 120 s). */
  downloadMs: number;
  /** From the last chunk to `update.ack` (default 60 s). */
  ackMs: number;
  /** Starting the trainer, loading the data, loading a package incl. the backend probe (default 180 s). */
  trainerSetupMs: number;
  /** Longest local training, whatever the task deadline says (default 30 min). */
  trainMs: number;
  /** Validation (default 10 min). */
  validateMs: number;
  /** `data.load()` (default 60 s). */
  dataMs: number;
  /** `stop()` waits this long for work to wind down before forcing (default 5 s). */
  stopMs: number;
}

/**
 * Bounds on what a server can make the client hold or do (each a safe default; raise them deliberately).
 * @example
 * ```ts
 * new FedClient({ server, data, limits: { maxModelBytes: 1024 * 2 ** 20 } });
 * ```
 */
export interface FedClientLimits {
  /**
   * Hard cap on a model (or strategy tensors) download, whatever its reference announces (default 512 MiB). The
   * body is read up to the reference's `bytes` (at most this), and the read stops one byte past it.
   */
  maxModelBytes: number;
  /** Hard cap on a compute package download (default 32 MiB). */
  maxPackageBytes: number;
  /** Upload attempts of one update, across reconnects, with backoff between them (default 5). */
  uploadAttempts: number;
  /** Tasks waiting behind the running one (default 4); a task beyond is refused and the combiner told. */
  queuedTasks: number;
  /** Distinct models validated per round (default 1): a round's further validation tasks are refused. */
  validationsPerRound: number;
}

/**
 * Receives warnings (cache degraded to memory, ...); default `console`.
 * @example
 * ```ts
 * new FedClient({ server, data, logger: { warn: (m) => myTelemetry.warn(m) } });
 * ```
 */
export interface FedLogger {
  warn(message: string): void;
}

/**
 * Options of {@link FedClient}.
 * @example
 * ```ts
 * const options: FedClientOptions = { server: 'https://fl.example.com', token, data, backend: 'auto' };
 * ```
 */
export interface FedClientOptions {
  /** The fedweb server's base URL: `https://host[:port]` or `wss://host[:port]` (http/ws on localhost). */
  server: string;
  /** Client JWT (or a function returning a fresh one before each connection), when the server has auth on. */
  token?: string | (() => string | Promise<string>);
  /** Stable client id. Default: generated once and kept in the cache, so a reload is the same client. */
  id?: string;
  /**
   * Ed25519 public keys (`ed25519:<base64>`, printed by `fedweb package keygen`) whose signature a compute package
   * must carry (`fedweb package sign`). Set: a package without a valid signature by one of them is refused with
   * `PACKAGE_UNTRUSTED` before any of its code runs, and the client stops (`failed`). Default: none (any package the
   * server sends runs; the bundle's SHA-256 is still checked).
   */
  trustedPackageKeys?: string[];
  /** The local examples. */
  data: DataProvider;
  /** tfjs backend; `auto` (default) measures each backend on the model and keeps the fastest (decision cached). */
  backend?: BackendChoice;
  /** Aborting it stops the client, as `stop()` does. */
  signal?: AbortSignal;
  /** Trainer factory. Default: a Web Worker in browsers, in-process tfjs in Node. */
  trainer?: TrainerFactory;
  /**
   * The cache: a {@link ClientCache}, a name (IndexedDB database name in browsers, directory in Node), or `false`
   * for memory only. Default: IndexedDB `fedweb` in browsers, `./.fedweb-cache` in Node.
   */
  cache?: ClientCache | string | false;
  /**
   * Delta downloads (default true): when the task offers one and the cache holds the previous round's model, download
   * only the int8, deflated change and rebuild the model from it (README "Delta downloads"). False: always the full
   * model.
   */
  deltaDownloads?: boolean;
  /** Where tfjs-backend-wasm's `.wasm` files are served (a local path or URL prefix; never a CDN). */
  wasmPaths?: string;
  timeouts?: Partial<FedClientTimeouts>;
  limits?: Partial<FedClientLimits>;
  /**
   * Bounds on `task.train` settings (defaults: learning rate 10, 100 epochs, batch 4096, 10 M examples per round,
   * `timeouts.trainMs`); a compute package may tighten them (`manifest.bounds`). A task outside is refused and the
   * combiner told at once.
   */
  settingsBounds?: Partial<SettingsBounds>;
  /**
   * Origins (besides the server's own) the client may talk to and send its token to: combiners on other hosts or
   * ports, a blob CDN. Default none: a combiner URL or blob reference on any other origin is refused
   * (`UNTRUSTED_ORIGIN`) and reported. E.g. `['wss://combiner-2.example.com', 'https://cdn.example.com']`.
   */
  trustedOrigins?: string[];
  /** Reconnect backoff (default 0.5 s doubling to 30 s, equal jitter). */
  backoff?: BackoffOptions;
  /**
   * `transient` (default): everything is retried with backoff forever except the server's typed `UNAUTHORIZED`,
   * `FORBIDDEN` and `VERSION_MISMATCH`, which end the client (`failed`). `always`: those are retried too (a
   * kiosk page that must never stop; it keeps reporting them as `error` events).
   */
  retry?: RetryMode;
  logger?: FedLogger;
}

/**
 * Where a client is in its life cycle.
 * @example
 * ```ts
 * if (client.status === 'training') showSpinner();
 * ```
 */
export type ClientStatus =
  | 'idle'
  | 'starting'
  | 'connecting'
  | 'connected'
  | 'downloading'
  | 'training'
  | 'uploading'
  | 'validating'
  | 'reconnecting'
  | 'stopped'
  | 'failed';

/**
 * Payload of the `status` event.
 * @example
 * ```ts
 * client.on('status', (s: StatusEvent) => {
 *   if (s.status === 'reconnecting') banner.textContent = `offline, retrying in ${Math.round((s.retryInMs ?? 0) / 1000)} s`;
 * });
 * ```
 */
export interface StatusEvent {
  status: ClientStatus;
  clientId?: string;
  combinerId?: string;
  /** The backend in use and why the others lost (after the first package load). */
  backend?: BackendReport;
  /** Where the cache lives (`memory` when storage was unavailable). */
  cache?: CacheKind;
  /** When reconnecting: the delay before the next attempt, and the attempt number. */
  retryInMs?: number;
  attempt?: number;
  /** What caused a `reconnecting` or `failed` status. */
  error?: FedError;
}

/**
 * Phases of a round as seen by this client.
 * @example
 * ```ts
 * const done: RoundPhase[] = ['acknowledged', 'refused', 'failed'];
 * ```
 */
export type RoundPhase =
  | 'started'
  | 'resumed'
  | 'trained'
  | 'uploaded'
  | 'acknowledged'
  | 'deferred'
  | 'refused'
  | 'cancelled'
  | 'failed'
  | 'validated'
  | 'withdrawn';

/**
 * Payload of the `round` event.
 * @example
 * ```ts
 * client.on('round', (r: RoundEvent) => {
 *   if (r.phase === 'acknowledged') log(`round ${r.roundId}: sent ${r.bytes} B instead of ${r.f32Bytes} B`);
 * });
 * ```
 */
export interface RoundEvent {
  roundId: string;
  taskId: string;
  sessionId?: string;
  task: 'train' | 'validate';
  phase: RoundPhase;
  /** Encoded update size, and what f32 would have taken (phases `trained`..`acknowledged`). */
  bytes?: number;
  f32Bytes?: number;
  /** Why (phases `refused`, `cancelled`, `failed`, `deferred`, `withdrawn`). */
  error?: FedError;
}

/**
 * Payload of the `model` event: the global model a train task trains on is held (rebuilt from a delta, downloaded
 * in full, or found in the cache), with the bytes it took and, for a reconstruction, its weights' SHA-256. Once per
 * model: a model prefetched when it committed (`prefetch: true`) gets no second event from its task.
 * @example
 * ```ts
 * client.on('model', (m: ModelEvent) => console.log(`${m.roundId}: ${m.via}, ${m.bytes} B down`));
 * ```
 */
export interface ModelEvent {
  /** The task's round and id; both '' for a prefetch. */
  roundId: string;
  taskId: string;
  /** Fetched on `model.prefetch`, as soon as the model committed (the next task for it downloads nothing). */
  prefetch?: boolean;
  via: 'delta' | 'full' | 'cache';
  /** Bytes downloaded for it (0 from the cache), and the model's size as float32 (4 bytes per parameter). */
  bytes: number;
  f32Bytes: number;
  weightsSha256?: string;
  /** Epoch ms when the client held it. */
  at: number;
}

/**
 * Payload of the `progress` event: one batch of local training.
 * @example
 * ```ts
 * client.on('progress', (p: ProgressEvent) => (bar.value = (p.epoch * p.batches + p.batch + 1) / (p.epochs * p.batches)));
 * ```
 */
export interface ProgressEvent extends TrainProgress {
  roundId: string;
  taskId: string;
}

/**
 * Payload of the `metrics` event: results of local training or validation.
 * @example
 * ```ts
 * client.on('metrics', (m: MetricsEvent) => m.task === 'validate' && chart.add(m.metrics['accuracy']));
 * ```
 */
export interface MetricsEvent {
  roundId: string;
  taskId: string;
  task: 'train' | 'validate';
  numExamples: number;
  metrics: Metrics;
  trainMs?: number;
}

/**
 * Payload of the `withdrawn` event: the client left round `roundId` before sending its update, because the device
 * stopped meeting the session's conditions (`battery`, `metered`, `hidden`) or the page called `withdraw()`
 * (`user`). Training was aborted; the combiner freed the slot. While the condition holds the client is not picked.
 * @example
 * ```ts
 * client.on('withdrawn', (w: WithdrawnEvent) => w.reason === 'battery' && banner.show('Paused: battery low'));
 * ```
 */
export interface WithdrawnEvent {
  roundId: string;
  taskId: string;
  sessionId: string;
  reason: WithdrawReason;
  /** What the device reported when it withdrew (absent for `user`). */
  capabilities?: Capabilities;
}

/**
 * The typed event map of {@link FedClient}.
 * @example
 * ```ts
 * client.on('progress', (p) => bar.value = (p.epoch * p.batches + p.batch) / (p.epochs * p.batches));
 * ```
 */
export interface FedClientEvents {
  status: StatusEvent;
  round: RoundEvent;
  model: ModelEvent;
  progress: ProgressEvent;
  metrics: MetricsEvent;
  error: FedError;
  /** The client withdrew from a round it was training (device conditions, or `withdraw()`). */
  withdrawn: WithdrawnEvent;
  /**
   * The client stopped for good on a permanent refusal (the server's typed `UNAUTHORIZED`, `FORBIDDEN` or
   * `VERSION_MISMATCH`); everything else is retried. Recover with `client.restart({ token })` once fixed.
   */
  failed: FedError;
}

/**
 * The platform seam: what differs between browsers and Node. Internal to the SDK's two entry points.
 * @example
 * ```ts
 * class EdgeClient extends FedClientCore {
 *   constructor(o: FedClientOptions) { super(o, { ...nodePlatform, openCache: () => openMyCache() }); }
 * }
 * ```
 */
export interface FedPlatform {
  name: 'browser' | 'node';
  WebSocket: SocketConstructor;
  fetch: FetchLike;
  /** The default trainer when `options.trainer` is not given. */
  createTrainer: TrainerFactory;
  /** Opens the default persistent cache (`name` from the `cache` option). Rejects with `STORAGE` when unavailable. */
  openCache(name: string | undefined): Promise<ClientCache>;
  capabilities(): Promise<Capabilities>;
  /** Identifies this device class for the backend-decision cache key. */
  deviceKey(): Promise<string>;
  /**
   * Subscribes to changes of what `capabilities()` reports (battery level and charging, connection, page
   * visibility): the client then sends a heartbeat and re-checks the session's device conditions at once instead of
   * at the next heartbeat. Returns the unsubscribe function.
   */
  onDeviceChange?(cb: () => void): () => void;
  /** Inflates delta downloads (node:zlib in Node); fflate when absent. */
  compressor?: Compressor;
}
