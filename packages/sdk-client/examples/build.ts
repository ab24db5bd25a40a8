/**
 * Builds the example compute packages into `examples/dist/<name>/` (package.mjs, manifest.json, seed-model.fwf).
 * Run: `npx tsx packages/sdk-client/examples/build.ts` (a few seconds; the output is committed for the demo).
 */
import { fileURLToPath } from 'node:url';
import { buildComputePackage } from '../src/build/build.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The example packages: entry and output folder. */
export const EXAMPLES = [
  { name: 'mnist-mlp', entry: here('./mnist-mlp/package.ts'), outDir: here('./dist/mnist-mlp') },
  { name: 'mnist-cnn', entry: here('./mnist-cnn/package.ts'), outDir: here('./dist/mnist-cnn') },
] as const;

/**
 * Builds every example package.
 * @example
 * ```ts
 * await buildExamples(); // writes examples/dist/mnist-mlp and examples/dist/mnist-cnn
 * ```
 */
export async function buildExamples(): Promise<void> {
  for (const ex of EXAMPLES) {
    const r = await buildComputePackage({ entry: ex.entry, outDir: ex.outDir, name: ex.name, version: '1.0.0' });
    console.log(`${ex.name}: ${r.params} params, bundle ${r.manifest.bytes} B, seed model ${r.seedModelBytes} B, sha256 ${r.manifest.sha256.slice(0, 12)}…`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildExamples();
