import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputePackageManifestSchema, decodeFrame, isFedError, sha256Hex } from '@fedweb/codec';
import { buildComputePackage } from './build.js';

const examples = (p: string) => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'fedweb-build-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('buildComputePackage', () => {
  it('writes the bundle, a manifest with its SHA-256 and an f32 seed model in getWeights() order', async () => {
    const out = join(tmp, 'mlp');
    const r = await buildComputePackage({ entry: examples('mnist-mlp/package.ts'), outDir: out, version: '1.0.0' });
    const code = readFileSync(join(out, 'package.mjs'));
    const manifest = ComputePackageManifestSchema.parse(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')));
    expect(manifest).toEqual(r.manifest);
    expect(manifest.name).toBe('mnist-mlp');
    expect(manifest.sha256).toBe(await sha256Hex(code));
    expect(manifest.bytes).toBe(code.byteLength);
    expect(manifest.inputShape).toEqual([784]);
    expect(manifest.numClasses).toBe(10);
    expect(manifest.settings).toMatchObject({ localEpochs: 1, batchSize: 32, learningRate: 0.1 });
    // tfjs is passed in, never bundled.
    expect(code.toString('utf8')).not.toMatch(/@tensorflow|tfjs-core/);
    const seed = await decodeFrame(readFileSync(join(out, 'seed-model.fwf')));
    expect(seed.map((t) => [t.name, t.shape])).toEqual([
      ['w0', [784, 128]],
      ['w1', [128]],
      ['w2', [128, 10]],
      ['w3', [10]],
    ]);
    expect(r.params).toBe(784 * 128 + 128 + 128 * 10 + 10);
    // He-normal kernel (std sqrt(2/784) ≈ 0.0505), zero biases.
    const w0 = seed[0]!.data;
    const std = Math.sqrt(w0.reduce((a, v) => a + v * v, 0) / w0.length);
    expect(std).toBeGreaterThan(0.03);
    expect(std).toBeLessThan(0.07);
    expect(seed[1]!.data.every((v) => v === 0)).toBe(true);
  });

  it('is deterministic, and the committed examples/dist matches its sources (rebuild: npx tsx packages/sdk-client/examples/build.ts)', async () => {
    for (const name of ['mnist-mlp', 'mnist-cnn']) {
      const out = join(tmp, `again-${name}`);
      await buildComputePackage({ entry: examples(`${name}/package.ts`), outDir: out, version: '1.0.0' });
      for (const f of ['package.mjs', 'manifest.json', 'seed-model.fwf']) {
        expect(readFileSync(join(out, f)).equals(readFileSync(examples(`dist/${name}/${f}`))), `${name}/${f}`).toBe(true);
      }
    }
  });

  it('refuses a package that imports tfjs at run time, with PACKAGE_INVALID', async () => {
    const dir = mkdtempSync(join(tmp, 'bad-'));
    writeFileSync(join(dir, 'package.ts'), "import * as tf from '@tensorflow/tfjs';\nexport function createModel() { return tf.sequential(); }\n");
    const e = await buildComputePackage({ entry: join(dir, 'package.ts'), outDir: join(dir, 'out') }).then(() => null, (x: unknown) => x);
    expect(isFedError(e, 'PACKAGE_INVALID'), String(e)).toBe(true);
    expect(String((e as Error).message)).toMatch(/use the `tf` passed/);
  });

  it('refuses a package whose model cannot train one step', async () => {
    const dir = mkdtempSync(join(tmp, 'notrain-'));
    writeFileSync(join(dir, 'package.ts'), 'export function createModel() { return { notAModel: true }; }\n');
    const e = await buildComputePackage({ entry: join(dir, 'package.ts'), outDir: join(dir, 'out') }).then(() => null, (x: unknown) => x);
    expect(isFedError(e, 'PACKAGE_INVALID'), String(e)).toBe(true);
  });
});
