/**
 * A fresh PostgreSQL schema per test run (vitest runs files in parallel workers: every run gets its own schema
 * name), dropped by the returned cleanup. The server is `FEDWEB_TEST_PG` or the CI machine's
 * `postgres://root@127.0.0.1:5432/test` (`.ci/run` starts it).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL database the tests create their schemas in. */
export const TEST_PG_URL = process.env.FEDWEB_TEST_PG ?? 'postgres://root@127.0.0.1:5432/test';

const STALE_AFTER_S = 3600;

/**
 * Creates nothing yet (the store creates its schema when it opens); returns a `?schema=` URL unique to this
 * run and a cleanup that drops the schema with everything in it, and any test schema older than an hour (left
 * by a run that was killed before its cleanup).
 * @example
 * ```ts
 * const { url, drop } = pgTestSchema();
 * const store = await openPgStateStore(url);
 * ```
 */
export function pgTestSchema(tag = 't'): { url: string; schema: string; drop: () => Promise<void> } {
  const schema = `fedweb_${tag}_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const u = new URL(TEST_PG_URL);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
      try {
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        const { rows } = await client.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname ~ '^fedweb_[a-z0-9]+_[0-9]+_[0-9a-f]{8}$'");
        const cutoff = Date.now() / 1000 - STALE_AFTER_S;
        for (const { name } of rows) {
          if (Number(name.split('_').at(-2)) < cutoff) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}
