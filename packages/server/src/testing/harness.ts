/**
 * Test harness helpers shared by the server's tests (real sockets on 127.0.0.1, port 0, temp data dirs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame, flattenTensors, type NamedTensor } from '@fedweb/codec';
import { ApiClient } from '../api-client/api-client.js';
import { startServer, type FedServer, type ServerOptions } from '../server.js';
import { makeTestPackage } from './package.js';

/**
 * A temp directory removed by the returned cleanup.
 * @example
 * ```ts
 * const { dir, cleanup } = await tempDir('fedweb-test-');
 * ```
 */
export async function tempDir(prefix = 'fedweb-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Starts a quiet server on a free port with a test package whose seed model is `seed`.
 * @example
 * ```ts
 * const { server, cleanup } = await startTestServer({ seed: [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }] });
 * ```
 */
export async function startTestServer(opts: Partial<ServerOptions> & { seed?: NamedTensor[] } = {}): Promise<{ server: FedServer; dir: string; cleanup: () => Promise<void> }> {
  const { seed, ...rest } = opts;
  const tmp = await tempDir();
  const server = await startServer({ dataDir: tmp.dir, port: 0, logLevel: 'warn', waitPollMs: 100, ...rest });
  if (seed) await server.controller.uploadPackage(await makeTestPackage({ tensors: seed }));
  return {
    server,
    dir: tmp.dir,
    cleanup: async () => {
      await server.close();
      await tmp.cleanup();
    },
  };
}

/**
 * Downloads a model of the trail over HTTP and returns it flat.
 * @example
 * ```ts
 * const flat = await fetchModelFlat(server.url, 'sess.m1');
 * ```
 */
export async function fetchModelFlat(baseUrl: string, modelId: string, token?: string): Promise<Float32Array> {
  return flattenTensors(await decodeFrame(await new ApiClient({ baseUrl, token }).downloadModel(modelId)));
}

/**
 * Polls until `check` returns a truthy value (or throws after `timeoutMs`).
 * @example
 * ```ts
 * await until(() => server.registry.list().length === 2);
 * ```
 */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
