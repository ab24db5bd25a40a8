import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { pgTestSchema, TEST_PG_URL } from '../testing/pg.js';
import { parsePgTarget } from './pg-connect.js';
import { PG_SCHEMA_VERSION } from './pg-migrations.js';
import { openPgStateStore } from './pg-state-store.js';
import { parseBlobsLocation, parseStateLocation, redactSecrets, redactUrl } from './urls.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('PostgreSQL state store: opening', () => {
  it('creates the schema and migrates it once; two stores opening together do not race', async () => {
    const s = pgTestSchema('open');
    cleanups.push(s.drop);
    const [a, b] = await Promise.all([openPgStateStore(s.url), openPgStateStore(s.url)]);
    cleanups.push(() => a.close(), () => b.close());
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    cleanups.push(() => client.end());
    const { rows } = await client.query(`SELECT version FROM "${s.schema}".fedweb_schema_migrations ORDER BY version`);
    expect(rows.map((r: { version: number }) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('creates a missing database when permitted', async () => {
    const name = `fedweb_db_${process.pid}_${Date.now()}`;
    const u = new URL(TEST_PG_URL);
    u.pathname = `/${name}`;
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    });
    const store = await openPgStateStore(u.toString());
    await store.close();
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(rows).toHaveLength(1);
  });

  it('a server that is down gives a typed, retryable STORAGE error after bounded retries, without the password', async () => {
    // A port that refuses connections: bind, note it, close.
    const closed = createServer();
    const p2 = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await openPgStateStore(`postgres://app:hunter2secret@127.0.0.1:${p2}/fedweb`, { retries: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE', retryable: true, details: { attempts: 3 } });
    expect((err as Error).message).toContain('app:***@127.0.0.1');
    expect((err as Error).message).not.toContain('hunter2secret');
  });

  it('a slow server (accepts, never answers) gives STORAGE within the connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    const port = await listen(silent);
    cleanups.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); silent.close(() => r()); }));
    await expect(openPgStateStore(`postgres://root@127.0.0.1:${port}/fedweb`, { retries: 1, connectTimeoutMs: 200 })).rejects.toMatchObject({ code: 'STORAGE', details: { attempts: 2 } });
  });

  it('reconnects by itself after its server-side connections are terminated (what a PostgreSQL restart does)', async () => {
    const s = pgTestSchema('gone');
    cleanups.push(s.drop);
    const app = `fedweb_gone_${process.pid}`;
    const store = await openPgStateStore(`${s.url}&application_name=${app}`, { retries: 1 });
    cleanups.push(() => store.close());
    expect(await store.listSessions()).toEqual([]);
    // Only this store's connections (other tests share the server).
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    cleanups.push(() => admin.end());
    const { rows } = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [app]);
    expect(rows.length).toBeGreaterThan(0);
    expect(await store.listSessions()).toEqual([]);
  });
});

describe('store locations', () => {
  it('parses --state and --blobs, and never shows a password', () => {
    expect(parseStateLocation('./x/state.db')).toEqual({ engine: 'sqlite', file: './x/state.db' });
    expect(parseStateLocation('sqlite:/tmp/s.db')).toEqual({ engine: 'sqlite', file: '/tmp/s.db' });
    expect(parseStateLocation('postgresql://u:p@h/db')).toEqual({ engine: 'postgres', url: 'postgresql://u:p@h/db' });
    expect(() => parseStateLocation('mysql://u:pw@h/db')).toThrow(/unknown engine in mysql:\/\/u:\*\*\*@h\/db/);
    expect(parseBlobsLocation('s3://models/fedweb')).toEqual({ engine: 's3', bucket: 'models', prefix: 'fedweb/' });
    expect(parseBlobsLocation('s3://models')).toEqual({ engine: 's3', bucket: 'models', prefix: '' });
    expect(parseBlobsLocation('./blobs')).toEqual({ engine: 'folder', dir: './blobs' });
    expect(() => parseBlobsLocation('s3:bad')).toThrow(/not s3:/);
    expect(redactUrl('postgres://app:s3cret@db:5432/fedweb?password=x&schema=a')).toBe('postgres://app:***@db:5432/fedweb?password=***&schema=a');
    expect(redactSecrets('failed: postgres://app:s3cret@db/x and s3://k:v@h/b')).toBe('failed: postgres://app:***@db/x and s3://k:***@h/b');
    expect(parsePgTarget('postgres://a:b@h/db?schema=s1')).toMatchObject({ database: 'db', schema: 's1', safe: 'postgres://a:***@h/db?schema=s1' });
    expect(() => parsePgTarget('postgres://h/db?schema=Robert%27);DROP')).toThrow(/schema must match/);
  });
});
