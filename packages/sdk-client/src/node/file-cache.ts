/**
 * The Node cache: the same {@link ClientCache} on the file system. Every record is one file written atomically
 * (write a temporary file in the same directory, then rename over the target), so a crash or a kill mid-write
 * leaves either the old record or the new one, never a torn file.
 *
 * Record file format: `FWR1` magic, u32 LE length of a UTF-8 JSON header, the header, then raw bytes (if any).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fedError, type FedError } from '@fedweb/codec';
import type { ClientCache, CachedBackend, CachedModel, CachedPackage, CachedResidual, PendingTask, PendingUpdate } from '../cache/types.js';

const MAGIC = 0x31525746; // 'FWR1' little-endian (fedweb record)

function storageError(what: string, e: unknown): FedError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const hint = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'no permission on the cache directory' : 'the file system failed';
  return fedError('STORAGE', `${what}: ${hint} (${code ?? ''} ${(e as Error)?.message ?? String(e)})`, { code }, e);
}

/** File name for an arbitrary key (user agents, client ids with ':'): its SHA-256, portable on every file system. */
const keyFile = (key: string) => createHash('sha256').update(key).digest('hex');

function encodeRecord(header: unknown, bytes?: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + (bytes?.length ?? 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, json.length, true);
  out.set(json, 8);
  if (bytes) out.set(bytes, 8 + json.length);
  return out;
}

function decodeRecord<H>(buf: Uint8Array): { header: H; bytes: ArrayBuffer } | undefined {
  if (buf.length < 8) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) return undefined;
  const len = dv.getUint32(4, true);
  if (8 + len > buf.length) return undefined;
  try {
    const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + len))) as H;
    // Copy into a fresh, exactly-sized ArrayBuffer the caller owns (Buffer#slice is a view, and fs buffers may be pooled).
    return { header, bytes: new Uint8Array(buf.subarray(8 + len)).buffer };
  } catch {
    return undefined;
  }
}

/**
 * FileCacheOptions
 * @example
 * ```ts
 * const cache = await openFileCache({ dir: './.fedweb-cache' });
 * ```
 */
export interface FileCacheOptions {
  /** Directory holding the cache (created if missing). */
  dir: string;
}

/**
 * Opens (creating) a file-system cache in `dir`. Node clients get one by default in `./.fedweb-cache`.
 * @example
 * ```ts
 * import { openFileCache } from '@fedweb/sdk-client/node';
 * const cache = await openFileCache({ dir: '/var/lib/my-edge-app/fedweb' });
 * ```
 */
export async function openFileCache(opts: FileCacheOptions): Promise<ClientCache> {
  const root = opts.dir;
  const dirs = ['packages', 'models', 'backends', 'pending', 'residuals', 'meta'] as const;
  try {
    for (const d of dirs) await mkdir(join(root, d), { recursive: true });
  } catch (e) {
    throw storageError(`cannot create the cache directory ${root}`, e);
  }

  const atomicWrite = async (path: string, data: Uint8Array) => {
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, data);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw e;
    }
  };
  const readMaybe = async (path: string): Promise<Uint8Array | undefined> => {
    try {
      return await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  /** Reads a record; a torn or foreign file reads as missing and is removed. */
  const getRec = async <H>(what: string, path: string) => {
    try {
      const buf = await readMaybe(path);
      if (!buf) return undefined;
      const rec = decodeRecord<H>(buf);
      if (!rec) await rm(path, { force: true });
      return rec;
    } catch (e) {
      throw storageError(what, e);
    }
  };
  const putRec = async (what: string, path: string, header: unknown, bytes?: ArrayBuffer | Uint8Array) => {
    try {
      await atomicWrite(path, encodeRecord(header, bytes === undefined ? undefined : bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)));
    } catch (e) {
      throw storageError(what, e);
    }
  };
  const delRec = async (what: string, path: string) => {
    try {
      await rm(path, { force: true });
    } catch (e) {
      throw storageError(what, e);
    }
  };

  const p = {
    clientId: join(root, 'meta', 'client-id.rec'),
    pkg: (sha: string) => join(root, 'packages', `${keyFile(sha)}.rec`),
    model: join(root, 'models', 'latest.rec'),
    backend: (key: string) => join(root, 'backends', `${keyFile(key)}.rec`),
    update: (cid: string) => join(root, 'pending', `${keyFile(cid)}.update.rec`),
    task: (cid: string) => join(root, 'pending', `${keyFile(cid)}.task.rec`),
    residual: (key: string) => join(root, 'residuals', `${keyFile(key)}.rec`),
  };

  return {
    kind: 'file',
    getClientId: async () => (await getRec<{ id: string }>('read client id', p.clientId))?.header.id,
    setClientId: (id) => putRec('write client id', p.clientId, { id }),
    getPackage: async (sha) => {
      const r = await getRec<Omit<CachedPackage, 'code'>>('read package', p.pkg(sha));
      return r && r.header.sha256 === sha ? { ...r.header, code: r.bytes } : undefined;
    },
    putPackage: ({ code, ...h }) => putRec('write package', p.pkg(h.sha256), h, code),
    getModel: async () => {
      const r = await getRec<Omit<CachedModel, 'bytes'>>('read model', p.model);
      return r && { ...r.header, bytes: r.bytes };
    },
    putModel: ({ bytes, ...h }) => putRec('write model', p.model, h, bytes),
    getBackend: async (key) => {
      const r = await getRec<CachedBackend>('read backend decision', p.backend(key));
      return r && r.header.key === key ? r.header : undefined;
    },
    putBackend: (b) => putRec('write backend decision', p.backend(b.key), b),
    getPendingUpdate: async (cid) => {
      const r = await getRec<Omit<PendingUpdate, 'bytes'>>('read pending update', p.update(cid));
      return r && r.header.clientId === cid ? { ...r.header, bytes: r.bytes } : undefined;
    },
    putPendingUpdate: ({ bytes, ...h }) => putRec('write pending update', p.update(h.clientId), h, bytes),
    deletePendingUpdate: async (cid, uploadId) => {
      if (uploadId !== undefined) {
        const r = await getRec<Omit<PendingUpdate, 'bytes'>>('read pending update', p.update(cid));
        if (!r || r.header.uploadId !== uploadId) return;
      }
      await delRec('delete pending update', p.update(cid));
    },
    getPendingTask: async (cid) => {
      const r = await getRec<PendingTask>('read pending task', p.task(cid));
      return r && r.header.clientId === cid ? r.header : undefined;
    },
    putPendingTask: (t) => putRec('write pending task', p.task(t.clientId), t),
    deletePendingTask: async (cid, roundId) => {
      if (roundId !== undefined) {
        const r = await getRec<PendingTask>('read pending task', p.task(cid));
        if (!r || r.header.task.roundId !== roundId) return;
      }
      await delRec('delete pending task', p.task(cid));
    },
    getResidual: async (key) => {
      const r = await getRec<Omit<CachedResidual, 'data'>>('read residual', p.residual(key));
      return r && r.header.key === key && r.bytes.byteLength % 4 === 0 ? { ...r.header, data: new Float32Array(r.bytes) } : undefined;
    },
    putResidual: ({ data, ...h }) =>
      putRec('write residual', p.residual(h.key), h, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    deleteResidual: (key) => delRec('delete residual', p.residual(key)),
    close: async () => {},
  };
}
