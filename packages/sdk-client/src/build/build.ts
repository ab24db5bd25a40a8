/**
 * `@fedweb/sdk-client/build`: builds a compute package from a TypeScript entry (Node only).
 *
 * Output in `outDir`:
 *  - `package.mjs`: the ES module bundle (esbuild; tfjs is never bundled: packages use the `tf` they are given),
 *  - `manifest.json`: {@link ComputePackageManifestSchema} with the bundle's SHA-256 and the package's `meta`,
 *  - `seed-model.fwf`: an f32 frame of the initial weights (`w0..wN` in `model.getWeights()` order), built with
 *    tfjs' CPU backend and a seeded `Math.random` so that the same source gives the same seed model.
 * The server CLI (`fedweb package build <entry.ts>`) dynamic-imports this module.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ComputePackageManifestSchema, createRng, encodeFrame, fedError, sha256Hex, type ComputePackageManifest } from '@fedweb/codec';
import { importModuleFromCode, loadComputePackage } from '../package/load.js';
import type { PackageMeta, Tf } from '../package/types.js';
import { probeActiveBackend } from '../trainer/backends.js';
import { quietTfjsInNode } from '../trainer/tf-env.js';

export interface BuildOptions {
  /** The package's TypeScript/JavaScript entry. */
  entry: string;
  /** Where to write `package.mjs`, `manifest.json`, `seed-model.fwf` (created if missing). */
  outDir: string;
  /** Default: the entry's folder name (`examples/mnist-cnn/package.ts` -> `mnist-cnn`). */
  name?: string;
  /** Default `0.1.0`. */
  version?: string;
  /** Overrides `meta.description`. */
  description?: string;
  /** Merged over `meta.settings`. */
  settings?: Record<string, unknown>;
  /** Seed of the initial weights (default 42). */
  seed?: number;
  /** Minify the bundle (default false: readable bundles are easier to audit). */
  minify?: boolean;
  /** Train one step on synthetic data before writing, to catch a package that cannot train (default true). */
  smokeTest?: boolean;
}

export interface BuildResult {
  manifest: ComputePackageManifest;
  files: { package: string; manifest: string; seedModel: string };
  /** Parameters in the seed model. */
  params: number;
  seedModelBytes: number;
}

/**
 * Bundles `entry` with esbuild and writes the package, its manifest and its seed model.
 *
 * @example
 * ```ts
 * import { buildComputePackage } from '@fedweb/sdk-client/build';
 * const { manifest } = await buildComputePackage({ entry: 'examples/mnist-cnn/package.ts', outDir: 'dist/mnist-cnn' });
 * console.log(manifest.sha256);
 * ```
 */
export async function buildComputePackage(opts: BuildOptions): Promise<BuildResult> {
  const entry = resolve(opts.entry);
  const outDir = resolve(opts.outDir);
  const name = opts.name ?? basename(dirname(entry));
  const version = opts.version ?? '0.1.0';
  const esbuild = await import('esbuild');
  let code: Uint8Array;
  try {
    const out = await esbuild.build({
      entryPoints: [entry],
      // Paths in the bundle's comments are relative to this: the entry's folder keeps the bytes (and the SHA-256)
      // independent of where the build runs.
      absWorkingDir: dirname(entry),
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      write: false,
      minify: opts.minify ?? false,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [
        {
          name: 'fedweb-no-tfjs',
          setup(b) {
            b.onResolve({ filter: /^@tensorflow\// }, (args) => ({
              errors: [{ text: `compute packages must not import ${args.path} at run time: use the \`tf\` passed to createModel/train/validate (\`import type\` is fine)` }],
            }));
          },
        },
      ],
    });
    const file = out.outputFiles[0];
    if (!file) throw new Error('esbuild produced no output');
    code = file.contents;
  } catch (e) {
    const errs = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    const detail = errs?.length ? errs.map((x) => `${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`).join('; ') : (e as Error).message;
    throw fedError('PACKAGE_INVALID', `cannot bundle ${opts.entry}: ${detail}`, undefined, e);
  }

  const sha256 = await sha256Hex(code);
  // Evaluate the bundle exactly as clients will (same bytes, same loader) to read its meta and build the seed.
  const ns = await importModuleFromCode(code);
  const meta = (ns.meta ?? {}) as PackageMeta;
  const manifest = ComputePackageManifestSchema.parse({
    name,
    version,
    sha256,
    bytes: code.byteLength,
    settings: { ...(meta.settings ?? {}), ...(opts.settings ?? {}) },
    ...(meta.inputShape ? { inputShape: meta.inputShape } : {}),
    ...(meta.numClasses ? { numClasses: meta.numClasses } : {}),
    ...(opts.description ?? meta.description ? { description: opts.description ?? meta.description } : {}),
  });
  const { module } = await loadComputePackage(code, manifest);

  const tf = (await import('@tensorflow/tfjs')) as Tf;
  quietTfjsInNode(tf);
  await tf.setBackend('cpu');
  await tf.ready();
  const random = Math.random;
  Math.random = createRng(opts.seed ?? 42).next;
  let model;
  try {
    model = await module.createModel(tf, manifest.settings);
  } finally {
    Math.random = random;
  }
  try {
    if (!model || typeof model.getWeights !== 'function') throw fedError('PACKAGE_INVALID', `createModel() of ${opts.entry} must return a tf.LayersModel`);
    const inShape = model.inputs[0]?.shape.slice(1);
    if (manifest.inputShape && inShape && inShape.every((d) => typeof d === 'number') && inShape.join(',') !== manifest.inputShape.join(',')) {
      throw fedError('PACKAGE_INVALID', `meta.inputShape [${manifest.inputShape}] differs from the model's input [${inShape.join(',')}]`);
    }
    const weights = await Promise.all(model.weights.map(async (w, i) => ({ name: `w${i}`, shape: w.shape.map((d) => d ?? 0), data: (await w.read().data()) as Float32Array })));
    const seedFrame = await encodeFrame(weights, { encoding: 'f32' });
    if (opts.smokeTest ?? true) {
      const lr = typeof manifest.settings.learningRate === 'number' ? manifest.settings.learningRate : 0.01;
      const r = await probeActiveBackend(tf, () => module.createModel(tf, manifest.settings), { learningRate: lr, batchSize: 4, minSteps: 1, minMs: 0, ...(module.loss ? { loss: module.loss } : {}), ...(manifest.inputShape ? { inputShape: manifest.inputShape } : {}) });
      if (!r.ok) throw fedError('PACKAGE_INVALID', `${name} cannot train one step on synthetic data: ${r.reason}`);
    }
    await mkdir(outDir, { recursive: true });
    const files = { package: join(outDir, 'package.mjs'), manifest: join(outDir, 'manifest.json'), seedModel: join(outDir, 'seed-model.fwf') };
    await writeFile(files.package, code);
    await writeFile(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(files.seedModel, seedFrame);
    return { manifest, files, params: weights.reduce((a, w) => a + w.data.length, 0), seedModelBytes: seedFrame.byteLength };
  } finally {
    if (model && typeof model.dispose === 'function') model.dispose();
  }
}
