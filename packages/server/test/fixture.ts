/**
 * Test-only fixture for the server's socket tests: starts test servers and test clients and closes them all
 * (clients first, newest first) after each test. Registers its own `afterEach`, so call it at module level.
 */
import { afterEach } from 'vitest';
import type { NamedTensor } from '@fedweb/codec';
import type { FedServer } from '../src/server.js';
import { startTestServer } from '../src/testing/harness.js';
import { TestClient, type TestClientOptions } from '../src/testing/test-client.js';

export function serverFixture(seed: NamedTensor[]) {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  /** A test server (any server options; `seed: null` = no package), with its data folder. */
  const start = async (extra: Record<string, unknown> = {}): Promise<{ server: FedServer; dir: string }> => {
    const t = await startTestServer({ ...extra, seed: extra.seed === null ? undefined : ((extra.seed as NamedTensor[] | undefined) ?? seed) });
    cleanups.push(t.cleanup);
    return t;
  };
  return {
    start,
    /** Runs `fn` after the current test, before what was registered earlier. */
    defer(fn: () => Promise<void>): void {
      cleanups.push(fn);
    },
    /** A test server with the fixture's seed model (and any server options; `seed: null` = no package). */
    async setup(extra: Record<string, unknown> = {}): Promise<FedServer> {
      return (await start(extra)).server;
    },
    /** A test client connected to `server` (a server, or its base URL). */
    async connect(server: FedServer | string, opts: Omit<TestClientOptions, 'baseUrl'>): Promise<TestClient> {
      const c = await TestClient.connect({ baseUrl: typeof server === 'string' ? server : server.url, ...opts });
      cleanups.push(() => c.close());
      return c;
    },
  };
}
