/**
 * A BlobStore with a small in-memory shelf in front: blobs that are derived, short-lived and rebuilt after a
 * restart (the download stream's delta and full frames, controller/download-stream.ts) are kept in memory only
 * ({@link TransientBlobs.keep}: no write, no fsync, nothing to collect later) and served like any other blob
 * (`/api/blobs/<sha256>`, the embedded combiner's fetches). Everything else goes to the store underneath.
 */
import { sha256Node } from './fs-blob-store.js';
import type { BlobStore } from './types.js';

/**
 * A BlobStore whose `get` / `has` also see the blobs kept in memory (the newest `maxKept`).
 * @example
 * ```ts
 * const blobs = new TransientBlobs(await openBlobStore(url));
 * const ref = blobs.keep(deltaFrame); // served at /api/blobs/<ref.sha256> until 8 newer ones replace it
 * ```
 */
export class TransientBlobs implements BlobStore {
  private readonly kept = new Map<string, Uint8Array>();

  constructor(
    private readonly store: BlobStore,
    private readonly maxKept = 8,
  ) {}

  /** Keeps `bytes` in memory only; the oldest kept blob beyond `maxKept` is dropped. */
  keep(bytes: Uint8Array): { sha256: string; bytes: number; path: string } {
    const sha256 = sha256Node(bytes);
    this.kept.delete(sha256);
    this.kept.set(sha256, bytes);
    while (this.kept.size > this.maxKept) this.kept.delete(this.kept.keys().next().value as string);
    return { sha256, bytes: bytes.byteLength, path: `memory:${sha256}` };
  }

  put(bytes: Uint8Array): Promise<{ sha256: string; bytes: number; path: string }> {
    return this.store.put(bytes);
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    return this.kept.get(sha256) ?? this.store.get(sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return this.kept.has(sha256) || this.store.has(sha256);
  }

  locate(sha256: string): string {
    return this.store.locate(sha256);
  }

  close(): void | Promise<void> {
    return this.store.close?.();
  }
}

/**
 * `blobs.keep(bytes)` where `blobs` is a {@link TransientBlobs}, else a durable `put`.
 * @example
 * ```ts
 * const blob = await keepOrPut(deps.blobs, frame);
 * ```
 */
export async function keepOrPut(blobs: BlobStore, bytes: Uint8Array): Promise<{ sha256: string; bytes: number; path: string }> {
  return blobs instanceof TransientBlobs ? blobs.keep(bytes) : blobs.put(bytes);
}
