/**
 * A fresh PostgreSQL schema per test run (vitest runs files in parallel workers: every run gets its own schema
 * name), dropped by the returned cleanup. The server is `FEDWEB_TEST_PG` or the CI machine's
 * `postgres://root@127.0.0.1:5432/test` (`.ci/run` starts it).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL database the tests create their schemas in. */
export const TEST_PG_URL = process.env.FEDWEB_TEST_PG ?? 'postgres://root@127.0.0.1:5432/test';

/**
 * Creates nothing yet (the store creates its schema when it opens); returns a `?schema=` URL unique to this
 * run and a cleanup that drops the schema with everything in it.
 * @example
 * ```ts
 * const { url, drop } = pgTestSchema();
 * const store = await openPgStateStore(url);
 * ```
 */
export function pgTestSchema(tag = 't'): { url: string; schema: string; drop: () => Promise<void> } {
  const schema = `fedweb_${tag}_${process.pid}_${randomBytes(4).toString('hex')}`;
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
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}
