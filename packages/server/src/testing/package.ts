/**
 * Tiny compute packages for tests and benchmarks: a trivial ES module bundle, a valid manifest and a seed
 * model frame with the given weights (no tfjs needed; test clients never run the bundle).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFrame, type NamedTensor, type TensorSpec } from '@fedweb/codec';
import { ApiClient } from '../api-client/api-client.js';

export interface TestPackage {
  manifest: Record<string, unknown>;
  bundle: Uint8Array;
  seedModel: Uint8Array;
}

/**
 * Builds a package whose seed model holds `tensors` (or zeros of `layout`).
 * @example
 * ```ts
 * const pkg = await makeTestPackage({ tensors: [{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }] });
 * await server.controller.uploadPackage(pkg);
 * ```
 */
export async function makeTestPackage(opts: { tensors?: NamedTensor[]; layout?: TensorSpec[]; name?: string; version?: string } = {}): Promise<TestPackage> {
  const tensors =
    opts.tensors ??
    (opts.layout ?? [{ name: 'w0', shape: [4] }]).map((s) => ({ name: s.name, shape: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) }));
  const source = `// fedweb test package: never trained by test clients\nexport function createModel() { throw new Error('test package'); }\nexport async function train() {}\nexport async function validate() { return {}; }\n// ${opts.name ?? 'test'}@${opts.version ?? '1.0.0'}\n`;
  const bundle = new TextEncoder().encode(source);
  const sha256 = createHash('sha256').update(bundle).digest('hex');
  const manifest = { name: opts.name ?? 'test', version: opts.version ?? '1.0.0', sha256, bytes: bundle.byteLength, settings: {} };
  const seedModel = await encodeFrame(tensors, { encoding: 'f32' });
  return { manifest, bundle, seedModel };
}

/**
 * Uploads a package through `POST /api/packages` (JSON + base64).
 * @example
 * ```ts
 * await uploadPackage(server.url, await makeTestPackage(), adminToken);
 * ```
 */
export async function uploadPackage(baseUrl: string, pkg: TestPackage, token?: string): Promise<any> {
  return { package: await new ApiClient({ baseUrl, token }).uploadPackage(pkg) };
}

/**
 * Writes a package folder like `fedweb package build` does (`package.mjs`, `manifest.json`, `seed-model.fwf`).
 * @example
 * ```ts
 * await writePackageDir(dir, await makeTestPackage());
 * ```
 */
export async function writePackageDir(dir: string, pkg: TestPackage): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.mjs'), pkg.bundle);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(pkg.manifest, null, 2));
  await writeFile(join(dir, 'seed-model.fwf'), pkg.seedModel);
}
