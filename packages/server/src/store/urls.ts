/**
 * Store locations as the command line takes them (`--state`, `--blobs`): which engine, where, and a form that is
 * safe to log (passwords never reach a log line or an error message).
 */
import { fedError } from '@fedweb/codec';

const SECRET_PARAMS = /^(password|pass|pwd|secret|token|sslpassword|sslkey|x-amz-security-token|x-amz-signature)$/i;

/**
 * The URL with its password (and secret-looking query parameters) replaced by `***`; any other text unchanged
 * except `user:password@` patterns inside it.
 * @example
 * ```ts
 * redactUrl('postgres://app:s3cret@db:5432/fedweb') // 'postgres://app:***@db:5432/fedweb'
 * ```
 */
export function redactUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return redactSecrets(text);
  }
}

/**
 * Redacts every `scheme://user:password@` in free text (an error message that quotes a connection string).
 * @example
 * ```ts
 * redactSecrets('connect to postgres://a:b@h failed') // 'connect to postgres://a:***@h failed'
 * ```
 */
export function redactSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi, '$1***@');
}

/** A `--state` location: a SQLite file, or a PostgreSQL URL. */
export type StateLocation = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

/** A `--blobs` location: a folder, or an S3 bucket and key prefix. */
export type BlobsLocation = { engine: 'folder'; dir: string } | { engine: 's3'; bucket: string; prefix: string };

/**
 * Parses `--state`: `postgres://` / `postgresql://` is PostgreSQL, `sqlite:<path>` or any other text a SQLite file.
 * @example
 * ```ts
 * parseStateLocation('postgres://root@127.0.0.1:5432/fedweb') // { engine: 'postgres', url: ... }
 * parseStateLocation('./.fedweb/state.db')                     // { engine: 'sqlite', file: './.fedweb/state.db' }
 * ```
 */
export function parseStateLocation(value: string): StateLocation {
  if (/^postgres(ql)?:\/\//i.test(value)) return { engine: 'postgres', url: value };
  if (/^sqlite:/i.test(value)) return { engine: 'sqlite', file: value.replace(/^sqlite:(\/\/)?/i, '') };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw fedError('BAD_CONFIG', `--state: unknown engine in ${redactUrl(value)} (a SQLite file path or postgres://...)`);
  return { engine: 'sqlite', file: value };
}

/**
 * Parses `--blobs`: `s3://bucket/prefix` is S3 (or any S3-compatible server), `file:<dir>` or any other text a folder.
 * @example
 * ```ts
 * parseBlobsLocation('s3://models/fedweb/') // { engine: 's3', bucket: 'models', prefix: 'fedweb/' }
 * ```
 */
export function parseBlobsLocation(value: string): BlobsLocation {
  const s3 = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/i.exec(value);
  if (s3) {
    const prefix = s3[2] ?? '';
    return { engine: 's3', bucket: s3[1] as string, prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix };
  }
  if (/^s3:/i.test(value)) throw fedError('BAD_CONFIG', `--blobs: ${value} is not s3://<bucket>/<prefix>`);
  if (/^file:/i.test(value)) return { engine: 'folder', dir: value.replace(/^file:(\/\/)?/i, '') };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw fedError('BAD_CONFIG', `--blobs: unknown engine in ${redactUrl(value)} (a folder or s3://<bucket>/<prefix>)`);
  return { engine: 'folder', dir: value };
}
