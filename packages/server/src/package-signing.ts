/**
 * Signing compute packages (`fedweb package keygen`, `fedweb package sign`): an Ed25519 key pair from node:crypto,
 * and a signature over the bundle's SHA-256 added to the manifest's `signatures`. Clients configured with
 * `trustedPackageKeys` refuse a package without a valid signature by one of their keys, before running it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ComputePackageManifestSchema, fedError, packageKeyId, packageSigningPayload, type PackageSignature } from '@fedweb/codec';
import { parseBody } from './http/schemas.js';
import { readPackageDir } from './server.js';
import { sha256Node } from './store/fs-blob-store.js';

/** A new signing key: the private key (PKCS#8 PEM, keep it secret) and the public key clients trust. */
export interface PackageKeyPair {
  privateKeyPem: string;
  /** `ed25519:<base64 of the raw 32-byte key>`: what `FedClient({ trustedPackageKeys })` takes. */
  publicKey: string;
  keyId: string;
}

/** The public key text and key id of a private key. */
async function publicOf(privateKey: KeyObject): Promise<{ publicKey: string; keyId: string; raw: Uint8Array }> {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const raw = new Uint8Array(Buffer.from(String(jwk.x), 'base64url'));
  return { publicKey: `ed25519:${Buffer.from(raw).toString('base64')}`, keyId: await packageKeyId(raw), raw };
}

/**
 * Generates an Ed25519 key pair for signing packages.
 * @example
 * ```ts
 * const { privateKeyPem, publicKey } = await generatePackageKeyPair();
 * ```
 */
export async function generatePackageKeyPair(): Promise<PackageKeyPair> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), ...(await publicOf(privateKey)) };
}

/**
 * Returns the manifest with a signature by `privateKeyPem` over `bundle` (replacing an earlier one by the same key).
 * @throws FedError PACKAGE_INVALID when the manifest is invalid or does not describe `bundle`; BAD_CONFIG for a key
 * that is not an Ed25519 private key.
 * @example
 * ```ts
 * const signed = await signPackageManifest(manifest, bundle, await readFile('signing-key.pem', 'utf8'));
 * ```
 */
export async function signPackageManifest(
  manifestInput: unknown,
  bundle: Uint8Array,
  privateKeyPem: string,
): Promise<{ manifest: Record<string, unknown>; keyId: string; publicKey: string }> {
  const manifest = parseBody(ComputePackageManifestSchema, manifestInput, 'manifest', 'PACKAGE_INVALID');
  const sha = sha256Node(bundle);
  if (sha !== manifest.sha256 || bundle.byteLength !== manifest.bytes) {
    throw fedError('PACKAGE_INVALID', `the bundle (SHA-256 ${sha}, ${bundle.byteLength} bytes) is not the one the manifest describes (${manifest.sha256}, ${manifest.bytes} bytes)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (e) {
    throw fedError('BAD_CONFIG', `not a private key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw fedError('BAD_CONFIG', `the signing key is ${key.asymmetricKeyType ?? 'not asymmetric'}, not Ed25519 ('fedweb package keygen' makes one)`);
  const { publicKey, keyId } = await publicOf(key);
  const signature: PackageSignature = { alg: 'Ed25519', keyId, sig: sign(null, packageSigningPayload(sha), key).toString('base64') };
  const others = (manifest.signatures ?? []).filter((s) => s.keyId !== keyId);
  const raw = manifestInput as Record<string, unknown>;
  return { manifest: { ...raw, signatures: [...others, signature] }, keyId, publicKey };
}

/**
 * Signs a package folder written by `fedweb package build` in place (its `manifest.json` gains the signature).
 * @example
 * ```ts
 * const { keyId } = await signPackageDir('./dist/package', await readFile('signing-key.pem', 'utf8'));
 * ```
 */
export async function signPackageDir(dir: string, privateKeyPem: string): Promise<{ keyId: string; publicKey: string; sha256: string }> {
  const { manifest, bundle } = await readPackageDir(dir);
  const signed = await signPackageManifest(manifest, bundle, privateKeyPem);
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(signed.manifest, null, 2)}\n`);
  return { keyId: signed.keyId, publicKey: signed.publicKey, sha256: sha256Node(bundle) };
}
