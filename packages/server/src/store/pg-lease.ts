/**
 * The controller's leader lease on PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a
 * dedicated connection. Only the holder runs the controller; a second controller on the same database and
 * schema waits (a standby), asking again every `pollMs`. PostgreSQL releases the lock when the holder's
 * connection ends, so a leader killed with `kill -9` (its socket closed by the kernel) frees it at once; a
 * leader whose host vanishes frees it when the server's TCP keepalive gives up on the connection
 * (`tcp_keepalives_*` in postgresql.conf). The holder checks its connection every `checkMs`; when it is lost
 * the lease is lost (`lost` resolves) and the holder must stop at once, since a standby may take over.
 */
import pg from 'pg';
import { backoffDelay, sleep } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { parsePgTarget, pgClientConfig } from './pg-connect.js';
import { PG_LOCK_CLASS } from './pg-migrations.js';

export interface LeaderLeaseOptions {
  log: Logger;
  /** How often a standby asks for the lock, ms (default 1000). */
  pollMs?: number;
  /** How often the holder checks its connection, ms (default 2000). */
  checkMs?: number;
  /** Called once when the lock is held by another controller (this one becomes a standby). */
  onStandby?: () => void;
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface LeaderLease {
  /** Resolves when the lease is lost (the connection that held the lock died). */
  readonly lost: Promise<void>;
  /** Releases the lock (closes its connection). */
  release(): Promise<void>;
}

/**
 * Waits until this process holds the leader lease of `url`'s database and schema.
 * @example
 * ```ts
 * const lease = await acquireLeaderLease(url, { log, onStandby: () => console.log('standby') });
 * lease.lost.then(() => process.exit(1));
 * ```
 */
export async function acquireLeaderLease(url: string, opts: LeaderLeaseOptions): Promise<LeaderLease> {
  const target = parsePgTarget(url);
  const config = { ...pgClientConfig(target, { queryTimeoutMs: 10_000 }), keepAlive: true, keepAliveInitialDelayMillis: 5000 };
  let standby = false;
  for (let attempt = 0; ; ) {
    opts.signal?.throwIfAborted();
    const client = new pg.Client(config);
    client.on('error', () => undefined);
    try {
      await client.connect();
      attempt = 0;
      for (;;) {
        opts.signal?.throwIfAborted();
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS ok', [PG_LOCK_CLASS.leader]);
        if (rows[0]?.ok) return holdLease(client, opts);
        if (!standby) {
          standby = true;
          opts.log.info({ state: target.safe }, 'another controller holds the leader lease: standing by');
          opts.onStandby?.();
        }
        await sleep(opts.pollMs ?? 1000, opts.signal);
      }
    } catch (e) {
      await client.end().catch(() => undefined);
      if (opts.signal?.aborted) throw e;
      opts.log.warn({ state: target.safe, err: (e as Error).message }, 'leader lease: PostgreSQL connection failed; retrying');
      await sleep(backoffDelay(attempt++, { baseMs: 500, maxMs: 5000 }), opts.signal);
    }
  }
}

function holdLease(client: pg.Client, opts: LeaderLeaseOptions): LeaderLease {
  let released = false;
  let markLost!: () => void;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const fail = (why: string): void => {
    if (released) return;
    released = true;
    clearInterval(timer);
    opts.log.error({ why }, 'leader lease lost: this controller must stop');
    void client.end().catch(() => undefined);
    markLost();
  };
  client.on('error', (e) => fail(e.message));
  client.on('end', () => fail('connection ended'));
  const timer = setInterval(() => {
    client.query('SELECT 1').catch((e: unknown) => fail((e as Error).message));
  }, opts.checkMs ?? 2000);
  timer.unref();
  opts.log.info({}, 'holding the leader lease');
  return {
    lost,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await client.end().catch(() => undefined);
    },
  };
}
