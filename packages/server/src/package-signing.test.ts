/**
 * `fedweb package keygen` and `fedweb package sign` as real processes: the key file is private (0600) and never
 * overwritten by accident, the signed manifest verifies with the printed public key (codec, WebCrypto), survives the
 * upload, and is served with the package; a package whose bundle differs from its manifest is not signed.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ComputePackageManifestSchema, isFedError, verifyPackageSignature } from '@fedweb/codec';
import { generatePackageKeyPair, signPackageManifest } from './package-signing.js';
import { startTestServer, tempDir } from './testing/harness.js';
import { makeTestPackage, writePackageDir } from './testing/package.js';
import { spawnCli } from './testing/spawn.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function exitOf(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = spawnCli(args);
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
  return { code, out: p.output() };
}

describe('fedweb package keygen / sign', () => {
  it('keygen writes a 0600 key and prints the public key; sign adds a signature that verifies with it and survives upload', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const keyFile = join(t.dir, 'key.pem');
    const dir = join(t.dir, 'pkg');
    await writePackageDir(dir, await makeTestPackage());

    const gen = await exitOf(['package', 'keygen', '--out', keyFile]);
    expect(gen.code).toBe(0);
    const publicKey = /public key (ed25519:\S+)/.exec(gen.out)?.[1] as string;
    expect(publicKey).toBeDefined();
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const again = await exitOf(['package', 'keygen', '--out', keyFile]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/exists; pass --force/);

    const signed = await exitOf(['package', 'sign', dir, '--key', keyFile]);
    expect(signed.code).toBe(0);
    const manifest = ComputePackageManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
    expect(manifest.signatures).toHaveLength(1);
    await verifyPackageSignature(manifest, [publicKey]);
    // Signing twice with the same key replaces its signature.
    expect((await exitOf(['package', 'sign', dir, '--key', keyFile])).code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).signatures).toHaveLength(1);

    // The server keeps the signature and serves it with the package.
    const { server, cleanup } = await startTestServer({ computePackage: { dir } });
    cleanups.push(cleanup);
    const served = ComputePackageManifestSchema.parse(await (await fetch(`${server.url}/api/packages/${manifest.sha256}/manifest`)).json());
    await verifyPackageSignature(served, [publicKey]);
    const other = await generatePackageKeyPair();
    await expect(verifyPackageSignature(served, [other.publicKey])).rejects.toMatchObject({ code: 'PACKAGE_UNTRUSTED' });
  });

  it('refuses to sign a bundle its manifest does not describe, and a key that is not Ed25519', async () => {
    const pkg = await makeTestPackage();
    const { privateKeyPem } = await generatePackageKeyPair();
    const err = await signPackageManifest(pkg.manifest, new TextEncoder().encode('other code'), privateKeyPem).catch((e: unknown) => e);
    expect(isFedError(err, 'PACKAGE_INVALID')).toBe(true);
    const bad = await signPackageManifest(pkg.manifest, pkg.bundle, 'not a key').catch((e: unknown) => e);
    expect(isFedError(bad, 'BAD_CONFIG')).toBe(true);
  });
});
