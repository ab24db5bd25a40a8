/**
 * Connecting to PostgreSQL (`pg`): the pool config from a `postgres://` URL (with fedweb's `?schema=` parameter),
 * the database and schema created when missing and permitted, and the error policy every PostgreSQL call uses:
 * transient failures (refused, reset, timed out, server restarting, serialization) are retried a bounded number
 * of times with backoff, then surface as a typed, retryable `STORAGE` error whose message never holds a password.
 */
import pg from 'pg';
import { backoffDelay, fedError, sleep } from '@fedweb/codec';
import { redactSecrets, redactUrl } from './urls.js';

/** Connection and retry knobs of the PostgreSQL stores. */
export interface PgConnectOptions {
  /** Connection attempt timeout, ms (default 5000): a server that accepts but never answers fails in time. */
  connectTimeoutMs?: number;
  /** Client-side timeout of one query, ms (default 30 000). */
  queryTimeoutMs?: number;
  /** Retries of a transient failure (default 5, after 125 ms .. 4 s of backoff each: ~8 s at most in all). */
  retries?: number;
  /** Pool size (default 10). */
  poolSize?: number;
  /** Create the database when it does not exist (default true; needs CREATEDB). */
  createDatabase?: boolean;
}

/** A parsed `postgres://` URL: `pg`'s connection string, and the schema fedweb keeps its tables in. */
export interface PgTarget {
  connectionString: string;
  database: string;
  schema: string | null;
  /** The URL with its password hidden, for logs. */
  safe: string;
}

/** Retries of a transient failure when the options say nothing: rides out a PostgreSQL restart or failover of a few seconds. */
export const PG_DEFAULT_RETRIES = 5;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Splits fedweb's `?schema=<name>` off a PostgreSQL URL.
 * @throws FedError BAD_CONFIG for a malformed URL or schema name.
 * @example
 * ```ts
 * parsePgTarget('postgres://root@127.0.0.1:5432/fedweb?schema=prod').schema // 'prod'
 * ```
 */
export function parsePgTarget(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fedError('BAD_CONFIG', `not a PostgreSQL URL: ${redactSecrets(url)}`);
  }
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !SCHEMA_NAME.test(schema)) throw fedError('BAD_CONFIG', `schema must match ${SCHEMA_NAME} (got '${schema.slice(0, 80)}')`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
  return { connectionString: u.toString(), database, schema, safe: redactUrl(url) };
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  // PostgreSQL SQLSTATEs: connection exceptions, admin/crash shutdown, cannot connect now, too many connections,
  // serialization failure, deadlock.
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300', '40001', '40P01',
]);

/** True for a failure that trying again later can fix (see the module comment). */
export function isTransientPgError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  return /timeout|Connection terminated|Connection ended|Client has encountered a connection error/i.test((e as Error)?.message ?? '');
}

/**
 * Runs `fn`, retrying transient failures `retries` times; any other failure, or the last one, becomes a
 * `STORAGE` FedError (a FedError thrown by `fn` passes through).
 * @example
 * ```ts
 * const rows = await withPgRetry('list sessions', 3, () => pool.query('SELECT * FROM sessions'));
 * ```
 */
export async function withPgRetry<T>(what: string, retries: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof Error && e.name === 'FedError') throw e;
      if (attempt < retries && isTransientPgError(e)) {
        await sleep(backoffDelay(attempt, { baseMs: 250, maxMs: 4000 }));
        continue;
      }
      const message = redactSecrets((e as Error)?.message ?? String(e));
      throw fedError('STORAGE', `PostgreSQL ${what} failed after ${attempt + 1} attempt(s): ${message}`, { attempts: attempt + 1 });
    }
  }
}

// BIGINT (oid 20) columns hold epoch ms and byte counts: well inside Number's exact range.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * `pg` client settings for `target` (timeouts, search_path, BIGINT as number).
 * @example
 * ```ts
 * const client = new pg.Client(pgClientConfig(parsePgTarget(url), {}));
 * ```
 */
export function pgClientConfig(target: PgTarget, opts: PgConnectOptions): pg.ClientConfig {
  return {
    connectionString: target.connectionString,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    query_timeout: opts.queryTimeoutMs ?? 30_000,
    ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
    types,
  };
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function createDatabase(target: PgTarget, opts: PgConnectOptions): Promise<void> {
  const admin = new URL(target.connectionString);
  admin.pathname = '/postgres';
  const client = new pg.Client({ ...pgClientConfig({ ...target, connectionString: admin.toString(), schema: null }, opts) });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${quoteIdent(target.database)}`);
  } catch (e) {
    // 42P04: another process created it meanwhile.
    if ((e as { code?: string }).code !== '42P04') {
      throw fedError('STORAGE', `database ${target.database} does not exist and cannot be created (${redactSecrets((e as Error).message)}); create it, or grant CREATEDB`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Opens a pool on `target`: creates the database (when missing and `createDatabase`) and the schema (when
 * named and missing), and checks one connection works, with bounded retries.
 * @throws FedError STORAGE when the server cannot be reached or the database cannot be created.
 * @example
 * ```ts
 * const pool = await openPgPool(parsePgTarget(url), { retries: 3 });
 * ```
 */
export async function openPgPool(target: PgTarget, opts: PgConnectOptions): Promise<pg.Pool> {
  const retries = opts.retries ?? PG_DEFAULT_RETRIES;
  const connectOnce = async (): Promise<void> => {
    const probe = new pg.Client({ ...pgClientConfig({ ...target, schema: null }, opts) });
    try {
      await probe.connect();
      if (target.schema) await probe.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target.schema)}`);
    } finally {
      await probe.end().catch(() => undefined);
    }
  };
  await withPgRetry(`connect to ${target.safe}`, retries, async () => {
    try {
      await connectOnce();
    } catch (e) {
      const code = (e as { code?: string }).code;
      // 3D000: the database does not exist. 23505/42P06: a concurrent CREATE SCHEMA won.
      if (code === '3D000' && opts.createDatabase !== false) {
        await createDatabase(target, opts);
        await connectOnce();
      } else if (code !== '23505' && code !== '42P06') throw e;
    }
  });
  const pool = new pg.Pool({ ...pgClientConfig(target, opts), max: opts.poolSize ?? 10 });
  // An idle client's connection dying (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
