/**
 * The trust check of a compute package, run before its code is handed to the trainer (which evaluates it): with
 * `trustedPackageKeys` configured, the manifest must describe exactly this bundle and carry a valid Ed25519
 * signature by one of those keys (see `verifyPackageSignature` in the codec).
 */
import { fedError, verifyPackageSignature, type BlobRef, type ComputePackageManifest } from '@fedweb/codec';

/**
 * Resolves when `trustedKeys` is unset or empty, or when `manifest` is this bundle's and is validly signed by one
 * of them; rejects with `PACKAGE_UNTRUSTED` otherwise.
 * @example
 * ```ts
 * await checkPackageTrust(manifest, task.package, options.trustedPackageKeys);
 * ```
 */
export async function checkPackageTrust(manifest: ComputePackageManifest, ref: BlobRef, trustedKeys: readonly string[] | undefined): Promise<void> {
  if (!trustedKeys || trustedKeys.length === 0) return;
  if (manifest.sha256 !== ref.sha256) {
    throw fedError('PACKAGE_UNTRUSTED', `the manifest of compute package ${ref.id} is for another bundle (${manifest.sha256}); refusing to load it`);
  }
  await verifyPackageSignature(manifest, trustedKeys);
}
