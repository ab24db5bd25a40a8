/**
 * Local-folder {@link BlobStore}: `<dir>/<aa>/<sha256>`, written to a temporary file, fsynced, then renamed
 * (rename is atomic on POSIX), then the directory is fsynced, so a blob that `put` reported is on disk even
 * after a kill -9 or power loss, and a reader never sees a half-written file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fedError } from '@fedweb/codec';
import type { BlobStore } from './types.js';

const SHA = /^[0-9a-f]{64}$/;

/**
 * Hex SHA-256 with node:crypto (the server's hot path; the codec's WebCrypto version is for browsers).
 * @example
 * ```ts
 * sha256Node(new Uint8Array()) // 'e3b0c442...'
 * ```
 */
export function sha256Node(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await h.close();
  }
}

/**
 * The local-folder blob store (see the module comment for the durability argument).
 * @example
 * ```ts
 * const blobs = new FsBlobStore('./.fedweb/blobs');
 * const { sha256 } = await blobs.put(frame);
 * ```
 */
export class FsBlobStore implements BlobStore {
  constructor(readonly dir: string) {}

  locate(sha256: string): string {
    if (!SHA.test(sha256)) throw fedError('NOT_FOUND', `not a sha256: ${sha256.slice(0, 80)}`);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async put(bytes: Uint8Array): Promise<{ sha256: string; bytes: number; path: string }> {
    const sha256 = sha256Node(bytes);
    const path = this.locate(sha256);
    if (await this.has(sha256)) return { sha256, bytes: bytes.byteLength, path };
    const sub = join(this.dir, sha256.slice(0, 2));
    try {
      await mkdir(sub, { recursive: true });
      const tmp = join(sub, `.${sha256}.${randomBytes(6).toString('hex')}.tmp`);
      const h = await open(tmp, 'w');
      try {
        await h.writeFile(bytes);
        await h.sync();
      } finally {
        await h.close();
      }
      try {
        await rename(tmp, path);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      await fsyncDir(sub);
    } catch (e) {
      throw fedError('STORAGE', `cannot write blob ${sha256}: ${(e as Error).message}`, undefined, e);
    }
    return { sha256, bytes: bytes.byteLength, path };
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    if (!SHA.test(sha256)) return null;
    try {
      const buf = await readFile(this.locate(sha256));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fedError('STORAGE', `cannot read blob ${sha256}: ${(e as Error).message}`, undefined, e);
    }
  }

  async has(sha256: string): Promise<boolean> {
    if (!SHA.test(sha256)) return false;
    try {
      await stat(this.locate(sha256));
      return true;
    } catch {
      return false;
    }
  }
}
