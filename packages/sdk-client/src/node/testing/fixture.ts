/**
 * What the Node integration tests share: the built MNIST MLP example package, a temporary folder with cleanups
 * run after the file's tests, and a bounded poll. Test-only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The MNIST MLP example package (`npx tsx packages/sdk-client/examples/build.ts` builds it). */
export const MLP_DIR = fileURLToPath(new URL('../../../examples/dist/mnist-mlp', import.meta.url));

/**
 * A fresh temporary folder; `cleanups` run in reverse order after the file's tests, then the folder goes.
 * @example
 * ```ts
 * const { root, cleanups } = await testRoot('fedweb-node-client-');
 * cleanups.push(() => server.close());
 * ```
 */
export async function testRoot(prefix: string): Promise<{ root: string; cleanups: (() => Promise<void>)[] }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await rm(root, { recursive: true, force: true });
  });
  return { root, cleanups };
}

/**
 * Polls `check` every 50 ms; throws after `ms`.
 * @example
 * ```ts
 * await until(() => server.registry.list().length === 1, 20_000, 'the combiner');
 * ```
 */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
