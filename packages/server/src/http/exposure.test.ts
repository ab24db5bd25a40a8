/**
 * Auth off is loopback-only: a server without a secret refuses a non-loopback listen address unless `insecure` is
 * given, and then warns that anyone can push code to clients. Real listening sockets and a real `fedweb` process.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { isFedError } from '@fedweb/codec';
import { startServer } from '../server.js';
import { tempDir } from '../testing/harness.js';
import { spawnCli, type CliProcess } from '../testing/spawn.js';
import { isLoopbackHost } from './exposure.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function dataDir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function track(p: CliProcess): CliProcess {
  cleanups.push(() => p.kill9());
  return p;
}

describe('auth off is loopback-only', () => {
  test('isLoopbackHost', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  test('startServer without a secret on 0.0.0.0 is refused (BAD_CONFIG) before anything listens; loopback, a secret or insecure start', async () => {
    const err = await startServer({ dataDir: await dataDir(), host: '0.0.0.0', port: 0, logger: false }).then(
      async (s) => {
        await s.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(isFedError(err, 'BAD_CONFIG'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/push code/);
    expect((err as Error).message).toMatch(/--insecure/);
    for (const opts of [{ host: '127.0.0.1' }, { host: '0.0.0.0', secret: 'a-secret-of-32-characters-or-so!' }, { host: '0.0.0.0', insecure: true }]) {
      const s = await startServer({ dataDir: await dataDir(), port: 0, logger: false, ...opts });
      cleanups.push(() => s.close());
      expect((await fetch(`${s.url}/api/status`)).status).not.toBe(0);
    }
  });

  test('fedweb server --host 0.0.0.0 without a secret exits non-zero; with --insecure it listens and warns that anyone can push code', async () => {
    const refused = track(spawnCli(['server', '--host', '0.0.0.0', '--port', '0', '--data-dir', await dataDir()], { FEDWEB_SECRET: '' }));
    const code = await new Promise<number | null>((resolve) => refused.child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(refused.output()).toMatch(/BAD_CONFIG: refusing to listen on 0\.0\.0\.0 with auth off/);

    const open = track(spawnCli(['server', '--host', '0.0.0.0', '--port', '0', '--insecure', '--data-dir', await dataDir()], { FEDWEB_SECRET: '' }));
    await open.waitFor(/listening on http/);
    expect(open.output()).toMatch(/AUTH IS OFF.*push code that every connected client will run/);
  });
});
