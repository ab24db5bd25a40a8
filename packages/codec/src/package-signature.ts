/**
 * Compute-package signatures: a package is code every client runs, so a client may insist that it was signed by a
 * key it trusts (`FedClient({ trustedPackageKeys })`), whoever controls the server. The signature is Ed25519 over
 * the bundle's SHA-256 (`fedweb-package-signature-v1:<sha256>`), stored in the manifest's `signatures` (several
 * signers or a key rotation: any one trusted key that verifies is enough). Verification is WebCrypto Ed25519, the
 * same code in browsers (Chromium >= 137, Firefox >= 129, Safari >= 17) and Node >= 20.
 */
import { z } from 'zod';
import { fedError } from './errors.js';
import { sha256Hex } from './hash.js';

/**
 * One signature of a package, as stored in `manifest.signatures`.
 * @example
 * ```ts
 * PackageSignatureSchema.parse({ alg: 'Ed25519', keyId: '3fa1c2d4e5b6a798', sig: 'base64...' });
 * ```
 */
export const PackageSignatureSchema = z.object({
  alg: z.literal('Ed25519'),
  /** The first 16 hex digits of the SHA-256 of the raw 32-byte public key (see {@link packageKeyId}). */
  keyId: z.string().regex(/^[0-9a-f]{16}$/, '16 lowercase hex digits'),
  /** The 64-byte Ed25519 signature, base64. */
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'a base64 Ed25519 signature (64 bytes)'),
});
export type PackageSignature = z.infer<typeof PackageSignatureSchema>;

/**
 * The bytes a package signature covers: the bundle's SHA-256 under a fixed context string.
 * @example
 * ```ts
 * sign(null, packageSigningPayload(manifest.sha256), privateKey); // node:crypto
 * ```
 */
export function packageSigningPayload(sha256: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`fedweb-package-signature-v1:${sha256}`);
}

/**
 * The raw 32-byte Ed25519 public key from its text form: base64 or base64url, optionally prefixed `ed25519:`.
 * @throws FedError BAD_CONFIG when it is not 32 bytes of base64.
 * @example
 * ```ts
 * parsePackagePublicKey('ed25519:3MFGx_yaWY7BpaV02nwZYSzXQ8KKD_x9yF7yohKk7Eg').length // 32
 * ```
 */
export function parsePackagePublicKey(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.trim().replace(/^ed25519:/i, '').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  if (/^[A-Za-z0-9+/]{43}$/.test(b64)) {
    const bin = atob(`${b64}=`);
    bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  if (!bytes || bytes.length !== 32) throw fedError('BAD_CONFIG', `package key '${text.slice(0, 80)}' is not a raw Ed25519 public key (32 bytes, base64; 'fedweb package keygen' prints one)`);
  return bytes;
}

/**
 * The key id of a raw public key: the first 16 hex digits of its SHA-256.
 * @example
 * ```ts
 * const keyId = await packageKeyId(parsePackagePublicKey(publicKey));
 * ```
 */
export async function packageKeyId(raw: Uint8Array): Promise<string> {
  return (await sha256Hex(raw)).slice(0, 16);
}

/**
 * Verifies that `manifest` (already checked to describe the code about to run: same SHA-256) carries a valid
 * signature by one of `trustedKeys`. Call it BEFORE the code is evaluated.
 * @throws FedError PACKAGE_UNTRUSTED when the manifest has no signature by a trusted key, or none that verifies.
 * @example
 * ```ts
 * await verifyPackageSignature(manifest, ['ed25519:3MFGx_yaWY7BpaV02nwZYSzXQ8KKD_x9yF7yohKk7Eg']);
 * ```
 */
export async function verifyPackageSignature(manifest: { name: string; sha256: string; signatures?: PackageSignature[] | undefined }, trustedKeys: readonly string[]): Promise<void> {
  const what = `compute package ${manifest.name} (${manifest.sha256.slice(0, 12)}…)`;
  const signatures = manifest.signatures ?? [];
  if (signatures.length === 0) throw fedError('PACKAGE_UNTRUSTED', `${what} is not signed and this client only runs packages signed by a trusted key; refusing to load it`);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw fedError('PACKAGE_UNTRUSTED', `${what}: WebCrypto is not available here (serve the page over https), so its signature cannot be checked; refusing to load it`);
  const keys = await Promise.all(trustedKeys.map(async (k) => ({ raw: parsePackagePublicKey(k), id: await packageKeyId(parsePackagePublicKey(k)) })));
  const payload = packageSigningPayload(manifest.sha256);
  let matched = false;
  for (const s of signatures) {
    const key = keys.find((k) => k.id === s.keyId);
    if (!key) continue;
    matched = true;
    let ok = false;
    try {
      const cryptoKey = await subtle.importKey('raw', key.raw, { name: 'Ed25519' }, false, ['verify']);
      ok = await subtle.verify({ name: 'Ed25519' }, cryptoKey, Uint8Array.from(atob(s.sig), (c) => c.charCodeAt(0)), payload);
    } catch (e) {
      throw fedError('PACKAGE_UNTRUSTED', `${what}: this runtime cannot verify Ed25519 signatures (${(e as Error).message}); refusing to load it`, undefined, e);
    }
    if (ok) return;
  }
  throw fedError(
    'PACKAGE_UNTRUSTED',
    matched
      ? `${what}: its signature by a trusted key does not verify (the code was changed after signing); refusing to load it`
      : `${what} is signed only by keys this client does not trust (${signatures.map((s) => s.keyId).join(', ')}); refusing to load it`,
    { keyIds: signatures.map((s) => s.keyId) },
  );
}
