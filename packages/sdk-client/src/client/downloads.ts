/**
 * Blobs the client needs (the compute package, the global model, a strategy's server tensors): from the cache
 * when their SHA-256 still matches, else downloaded over HTTP, verified against the BlobRef's SHA-256 and cached.
 */
import { ComputePackageManifestSchema, readFrameHeader, requestJson, sha256Hex, type BlobRef, type ComputePackageManifest, type MessageOf } from '@fedweb/codec';
import { checkPackageTrust } from '../package/trust.js';
import { fetchVerified } from '../transport/http.js';
import { abortReason } from './abort.js';
import { requireCache, type ClientContext } from './context.js';
import { modelForTask } from './model-stream.js';

/** Bound on the `GET /api/packages/<sha256>/manifest` answer (a manifest, a few KiB). */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * A compute package ready for the trainer: its code (the caller's own copy) and its manifest.
 * @example
 * ```ts
 * const { code, manifest }: LoadedPackage = await downloads.package(task.package, signal);
 * ```
 */
export interface LoadedPackage {
  code: ArrayBuffer;
  manifest: ComputePackageManifest;
}

/**
 * Cache-first, verified downloads.
 * @example
 * ```ts
 * const downloads = new Downloads(ctx);
 * const model = await downloads.model(task.model, signal); // ArrayBuffer, the caller's own copy
 * ```
 */
export class Downloads {
  /** The last model handed out, by its key (weights or blob SHA-256): a task asks twice (prefetch, then in the trainer). */
  #held: { key: string; frame: ArrayBuffer } | undefined;

  constructor(private readonly ctx: ClientContext) {}

  /**
   * The compute package: from the cache when its hash matches, else downloaded and verified (PACKAGE_INVALID on
   * mismatch). With `trustedPackageKeys`, its signature is checked before the code is returned (PACKAGE_UNTRUSTED).
   */
  async package(ref: BlobRef, signal: AbortSignal): Promise<LoadedPackage> {
    const cache = requireCache(this.ctx);
    const keys = this.ctx.options.trustedPackageKeys;
    const hit = await cache.getPackage(ref.sha256);
    if (hit && (await sha256Hex(new Uint8Array(hit.code))) === ref.sha256) {
      // A cached package is re-checked each time (the keys may have changed); one that fails is fetched again.
      const trusted = await checkPackageTrust(hit.manifest, ref, keys).then(() => true, () => false);
      if (trusted) return { code: hit.code, manifest: hit.manifest };
    }
    const token = await this.ctx.endpoint.token(signal);
    const bytes = await this.#fetch(ref, 'PACKAGE_INVALID', this.ctx.limits.maxPackageBytes, signal, token);
    const manifest = await this.#manifest(ref, bytes, signal, token);
    await checkPackageTrust(manifest, ref, keys);
    const code = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    await cache.putPackage({ sha256: ref.sha256, code, manifest, storedAt: Date.now() });
    // The cache keeps `code`; hand the trainer its own copy (it transfers it).
    return { code: code.slice(0), manifest };
  }

  /**
   * The model a train task trains on (the caller's own copy). A task naming its weights (`task.download`) gets them
   * from the cache, rebuilt from a delta, or in full (model-stream.ts); an older one gets {@link model}. The first
   * time per model it emits the `model` event.
   */
  async trainModel(task: MessageOf<'task.train'>, taskId: string, signal: AbortSignal): Promise<ArrayBuffer> {
    const download = task.download;
    const key = download?.weightsSha256 ?? task.model.sha256;
    // A prefetch of this very model still running: the task waits for it instead of downloading it again.
    if (this.#prefetching?.key === key) await this.#prefetching.done;
    if (this.#held?.key === key) return this.#held.frame.slice(0);
    let frame: ArrayBuffer;
    let event: { via: 'delta' | 'full' | 'cache'; bytes: number; f32Bytes: number; weightsSha256?: string };
    if (download) {
      ({ frame, event } = await this.#streamed(task, signal));
      // Already announced by its prefetch (then evicted from #held by a validation model): no second event.
      if (event.via === 'cache' && this.#prefetched === key) {
        this.#held = { key, frame: frame.slice(0) };
        return frame;
      }
    } else {
      const before = this.#fetched;
      frame = await this.model(task.model, signal);
      // The trainer judges the frame itself; the event only counts its size (the bytes when they are no frame).
      let f32Bytes = frame.byteLength;
      try {
        f32Bytes = 4 * readFrameHeader(new Uint8Array(frame), { maxBodyBytes: this.ctx.limits.maxModelBytes }).elements;
      } catch {
        // not a frame: left to the trainer to refuse
      }
      event = { via: this.#fetched > before ? 'full' : 'cache', bytes: this.#fetched - before, f32Bytes };
    }
    this.#held = { key, frame: frame.slice(0) };
    this.ctx.reporter.emit('model', { ...event, roundId: task.roundId, taskId, at: Date.now() });
    return frame;
  }

  /** The model being prefetched (one at a time), and the key of the last one prefetched. */
  #prefetching: { key: string; done: Promise<void> } | undefined;
  #prefetched: string | undefined;

  /**
   * A `model.prefetch` (README "Delta downloads"): fetches the announced model now, through the same path as a
   * task's (delta or full, weights SHA-256 checked, cached), and emits the `model` event with `prefetch: true`
   * (`roundId`, `taskId` empty: no round has named it yet). The next task for that model uses it with no
   * download and no second event. Ignored while another prefetch runs, for a model already held, and when a
   * URL is not a path on the client's own server. A failure is only a warning: the task downloads it again.
   */
  prefetch(msg: MessageOf<'model.prefetch'>, signal: AbortSignal): void {
    const key = msg.download.weightsSha256;
    if (this.#prefetching || this.#held?.key === key || this.#prefetched === key) return;
    const urls = [msg.model.url, ...(msg.download.delta ? [msg.download.delta.ref.url] : [])];
    if (!urls.every((u) => u.startsWith('/') && !u.startsWith('//'))) {
      this.ctx.reporter.warn(`fedweb: model.prefetch ${msg.model.id} ignored: its URLs must be paths on this server`);
      return;
    }
    const done = this.#streamed(msg, signal).then(
      ({ frame, event }) => {
        this.#held = { key, frame };
        this.#prefetched = key;
        this.ctx.reporter.emit('model', { ...event, roundId: '', taskId: '', prefetch: true, at: Date.now() });
      },
      (e: unknown) => {
        if (!signal.aborted) this.ctx.reporter.warn(`fedweb: prefetching model ${msg.model.id} failed (${(e as Error).message}); the task downloads it`);
      },
    );
    this.#prefetching = { key, done: done.finally(() => (this.#prefetching = undefined)) };
  }

  /** A model named by its weights (`task.train` with `download`, `model.prefetch`): model-stream.ts. */
  async #streamed(named: Pick<MessageOf<'task.train'>, 'model' | 'download'>, signal: AbortSignal) {
    const { limits, options } = this.ctx;
    const token = await this.ctx.endpoint.token(signal);
    return modelForTask(
      {
        cache: requireCache(this.ctx),
        fetch: (ref) => this.#fetch(ref, 'HASH_MISMATCH', limits.maxModelBytes, signal, token),
        deltas: options.deltaDownloads !== false,
        maxModelBytes: limits.maxModelBytes,
        ...(this.ctx.platform.compressor ? { compressor: this.ctx.platform.compressor } : {}),
        signal,
        warn: (m) => this.ctx.reporter.warn(m),
      },
      named,
    );
  }

  /** Bytes of models downloaded by {@link model} (the `model` event of tasks without `download`). */
  #fetched = 0;

  /**
   * The global model: from the cache when its hash matches, else downloaded, verified (HASH_MISMATCH) and cached.
   * `keep: false` (validation) leaves the cache as it is: it holds the base of the next delta download.
   */
  async model(ref: BlobRef, signal: AbortSignal, keep = true): Promise<ArrayBuffer> {
    if (this.#held?.key === ref.sha256) return this.#held.frame.slice(0);
    const cache = requireCache(this.ctx);
    const hit = await cache.getModel();
    if (hit && hit.sha256 === ref.sha256 && (await sha256Hex(new Uint8Array(hit.bytes))) === ref.sha256) return hit.bytes;
    const token = await this.ctx.endpoint.token(signal);
    const bytes = await this.#fetch(ref, 'HASH_MISMATCH', this.ctx.limits.maxModelBytes, signal, token);
    this.#fetched += bytes.byteLength;
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    if (keep) await cache.putModel({ id: ref.id, sha256: ref.sha256, bytes: buf, storedAt: Date.now() });
    else this.#held = { key: ref.sha256, frame: buf.slice(0) };
    return buf.slice(0);
  }

  /** A blob used once (a strategy's server tensors): downloaded and verified (HASH_MISMATCH), not cached. */
  async blob(ref: BlobRef, signal: AbortSignal): Promise<Uint8Array> {
    const token = await this.ctx.endpoint.token(signal);
    return this.#fetch(ref, 'HASH_MISMATCH', this.ctx.limits.maxModelBytes, signal, token);
  }

  /** A verified download from a trusted origin (`UNTRUSTED_ORIGIN` otherwise), within `maxBytes`. */
  #fetch(ref: BlobRef, mismatch: 'HASH_MISMATCH' | 'PACKAGE_INVALID', maxBytes: number, signal: AbortSignal, token: string | undefined): Promise<Uint8Array> {
    const { endpoint, timeouts } = this.ctx;
    return fetchVerified(ref, mismatch, endpoint.http(signal, timeouts.downloadMs, token), maxBytes, (url) => endpoint.checkOrigin(url, `the reference '${ref.id}'`));
  }

  /**
   * The package manifest (`GET /api/packages/<sha256>/manifest`, with its signatures) when the server has it for
   * this bundle, else one derived from the BlobRef (default entry names, no signature; the session's settings
   * already carry the package defaults).
   */
  async #manifest(ref: BlobRef, bytes: Uint8Array, signal: AbortSignal, token: string | undefined): Promise<ComputePackageManifest> {
    const fallback = ComputePackageManifestSchema.parse({ name: ref.id, version: '0', sha256: ref.sha256, bytes: bytes.byteLength });
    const { endpoint, timeouts } = this.ctx;
    try {
      // Read within a bound, like every body: a server cannot grow the client's memory with an endless answer.
      const body = await requestJson(
        { url: `${endpoint.httpBase}/api/packages/${ref.sha256}/manifest`, token, fetch: endpoint.fetch, timeoutMs: timeouts.downloadMs, signal, maxBytes: MAX_MANIFEST_BYTES },
        ComputePackageManifestSchema,
      );
      return body.sha256 === ref.sha256 ? body : fallback;
    } catch {
      if (signal.aborted) throw abortReason(signal);
      return fallback;
    }
  }
}
