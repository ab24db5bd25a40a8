/**
 * Opens the stores a `--state` / `--blobs` pair names (defaults: `<dataDir>/state.db` and `<dataDir>/blobs`).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FsBlobStore } from './fs-blob-store.js';
import type { PgConnectOptions } from './pg-connect.js';
import { openPgStateStore } from './pg-state-store.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js';
import { openSqliteStateStore } from './sqlite-state-store.js';
import type { BlobStore, StateStore } from './types.js';
import { parseBlobsLocation, parseStateLocation, redactUrl } from './urls.js';

export interface StoreLocations {
  /** Where the defaults live. */
  dataDir: string;
  /** A SQLite file or `postgres://...` (default `<dataDir>/state.db`). */
  state?: string;
  /** A folder or `s3://bucket/prefix` (default `<dataDir>/blobs`). */
  blobs?: string;
  /** S3 endpoint, region, path style, credentials (else the AWS environment). */
  s3?: Omit<S3BlobStoreOptions, 'bucket' | 'prefix'>;
  pg?: PgConnectOptions;
  /** Ready-made stores (tests, embedders): used as they are instead of opening `state` / `blobs`. */
  given?: { state?: StateStore; blobs?: BlobStore };
}

export interface OpenedStores {
  state: StateStore;
  blobs: BlobStore;
  /** The PostgreSQL URL when state is on PostgreSQL (the leader lease lives there), else null. */
  pgUrl: string | null;
  /** Where each store is, safe to log (no passwords). */
  where: { state: string; blobs: string };
}

/**
 * Opens both stores; the state store is closed again if the blob store cannot be opened.
 * @throws FedError BAD_CONFIG (unknown engine), STORAGE (cannot open).
 * @example
 * ```ts
 * const { state, blobs } = await openStores({ dataDir: './.fedweb', state: 'postgres://root@127.0.0.1/fedweb' });
 * ```
 */
export async function openStores(loc: StoreLocations): Promise<OpenedStores> {
  const stateLoc = parseStateLocation(loc.state ?? join(loc.dataDir, 'state.db'));
  const blobsLoc = parseBlobsLocation(loc.blobs ?? join(loc.dataDir, 'blobs'));
  if (!loc.given?.state && stateLoc.engine === 'sqlite') await mkdir(resolve(stateLoc.file, '..'), { recursive: true });
  const blobs: BlobStore =
    loc.given?.blobs ??
    (blobsLoc.engine === 's3' ? new S3BlobStore({ ...loc.s3, bucket: blobsLoc.bucket, prefix: blobsLoc.prefix }) : new FsBlobStore(resolve(blobsLoc.dir)));
  if (!loc.given?.blobs && blobsLoc.engine === 'folder') await mkdir(resolve(blobsLoc.dir), { recursive: true });
  try {
    const state =
      loc.given?.state ?? (stateLoc.engine === 'postgres' ? await openPgStateStore(stateLoc.url, loc.pg) : openSqliteStateStore(resolve(stateLoc.file)));
    return {
      state,
      blobs,
      pgUrl: !loc.given?.state && stateLoc.engine === 'postgres' ? stateLoc.url : null,
      where: {
        state: stateLoc.engine === 'postgres' ? redactUrl(stateLoc.url) : resolve(stateLoc.file),
        blobs: blobsLoc.engine === 's3' ? `s3://${blobsLoc.bucket}/${blobsLoc.prefix}` : resolve(blobsLoc.dir),
      },
    };
  } catch (e) {
    if (!loc.given?.blobs) await blobs.close?.();
    throw e;
  }
}
