/**
 * Test-only: what the Node client suites against a real server share: the MNIST MLP example package, a temporary
 * folder for servers and caches with cleanups run after the file's tests, and a bounded wait.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The built MNIST MLP example package (`examples/build.ts`). */
export const MLP_DIR = fileURLToPath(new URL('../../../examples/dist/mnist-mlp', import.meta.url));

/**
 * A fresh temporary folder; after the file's tests the pushed cleanups run (newest first) and the folder goes.
 * Call at module level.
 * @example
 * ```ts
 * const { root, cleanups } = await nodeSuite('fedweb-node-client-');
 * ```
 */
export async function nodeSuite(prefix: string): Promise<{ root: string; cleanups: (() => Promise<void>)[] }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await rm(root, { recursive: true, force: true });
  });
  return { root, cleanups };
}

/**
 * Polls `check` every 50 ms until it holds, failing after `ms` with `what`.
 * @example
 * ```ts
 * await until(() => server.registry.list()[0]?.clients.size === 2, 20_000, 'both clients online');
 * ```
 */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
