/**
 * Builds what `npm start` and `npm run simulate` serve, when it is missing or older than its sources:
 * the demo site (vite build into `demo/dist`) and the example compute packages
 * (`packages/sdk-client/examples/dist/mnist-{cnn,mlp}`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_DIST = join(ROOT, 'demo/dist');
export const PACKAGE_DIST = join(ROOT, 'packages/sdk-client/examples/dist');

/** Newest modification time (ms) of the files under the given paths (0 when none exist). */
export function newestMtime(paths: string[]): number {
  let newest = 0;
  const walk = (p: string): void => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== 'node_modules' && name !== 'dist' && !name.startsWith('.')) walk(join(p, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of paths) walk(p);
  return newest;
}

const demoSources = () => ['demo/src', 'demo/index.html', 'demo/centralized.html', 'demo/vite.config.ts', 'packages/sdk-client/src', 'packages/codec/src', 'packages/server/src/api-client', 'packages/server/src/http/schemas.ts', 'packages/server/src/config.ts'].map((p) => join(ROOT, p));

/**
 * Runs `vite build` for the demo unless `demo/dist` is newer than every source it is built from.
 * @example
 * ```ts
 * await ensureDemoBuilt({ log: console.log });
 * ```
 */
export async function ensureDemoBuilt(opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  const index = join(DEMO_DIST, 'index.html');
  if (!opts.force && existsSync(index) && statSync(index).mtimeMs >= newestMtime(demoSources())) return DEMO_DIST;
  opts.log?.('building the demo site (vite build)…');
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'demo/vite.config.ts'), logLevel: 'warn' });
  return DEMO_DIST;
}

/**
 * Builds the example compute packages (MNIST CNN and MLP) unless both are built and newer than their sources.
 * Returns the package folder of `model`.
 * @example
 * ```ts
 * const dir = await ensurePackagesBuilt('cnn'); // .../examples/dist/mnist-cnn
 * ```
 */
export async function ensurePackagesBuilt(model: 'cnn' | 'mlp', opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  const dir = join(PACKAGE_DIST, `mnist-${model}`);
  const built = ['mnist-cnn', 'mnist-mlp'].map((n) => join(PACKAGE_DIST, n, 'manifest.json'));
  const oldest = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  const sources = newestMtime([join(ROOT, 'packages/sdk-client/examples/mnist-cnn'), join(ROOT, 'packages/sdk-client/examples/mnist-mlp')]);
  if (!opts.force && oldest > 0 && oldest >= sources) return dir;
  opts.log?.('building the MNIST compute packages…');
  const { buildExamples } = (await import(join(ROOT, 'packages/sdk-client/examples/build.ts'))) as { buildExamples(): Promise<void> };
  await buildExamples();
  return dir;
}
