/**
 * Compute packages: an ES module bundle, its manifest (name, version, SHA-256, entry points, settings) and a
 * seed model, checked and stored; the newest upload becomes the active package new sessions train.
 */
import {
  ComputePackageManifestSchema,
  decodeFrame,
  encodeFrame,
  fedError,
  layoutSize,
  readFrameHeader,
  toFedError,
  type BlobRef,
  type ComputePackageManifest,
  type NamedTensor,
} from '@fedweb/codec';
import { parseBody } from '../http/schemas.js';
import { sha256Node } from '../store/fs-blob-store.js';
import type { ModelRecord, PackageRecord } from '../store/types.js';
import type { ControllerDeps } from './runtime.js';

/** What `storePackage` (`Controller.uploadPackage`) takes: the manifest (unparsed), the bundle and the seed model frame. */
export interface PackageUpload {
  manifest: unknown;
  bundle: Uint8Array;
  seedModel: Uint8Array;
  /** Make it the active package (default true). */
  activate?: boolean;
}

/**
 * The BlobRef of a compute package bundle.
 * @example
 * ```ts
 * packageRef(pkg).url // '/api/packages/<sha256>'
 * ```
 */
export function packageRef(p: Pick<PackageRecord, 'sha256' | 'bytes'>): BlobRef {
  return { id: `pkg-${p.sha256.slice(0, 16)}`, sha256: p.sha256, url: `/api/packages/${p.sha256}`, bytes: p.bytes };
}

/**
 * Checks and stores a compute package (bundle + manifest + seed model) and, by default, makes it active.
 * @throws FedError PACKAGE_INVALID when the manifest, the hash or the seed model is wrong.
 * @example
 * ```ts
 * const rec = await storePackage(deps, await readPackageDir('./dist/package'));
 * ```
 */
export async function storePackage(deps: Pick<ControllerDeps, 'state' | 'blobs' | 'log' | 'compressor'>, input: PackageUpload): Promise<PackageRecord> {
  const manifest: ComputePackageManifest = parseBody(ComputePackageManifestSchema, input.manifest, 'manifest', 'PACKAGE_INVALID');
  const sha = sha256Node(input.bundle);
  if (sha !== manifest.sha256) throw fedError('PACKAGE_INVALID', `bundle SHA-256 is ${sha}, the manifest says ${manifest.sha256}`);
  if (input.bundle.byteLength !== manifest.bytes) throw fedError('PACKAGE_INVALID', `bundle is ${input.bundle.byteLength} bytes, the manifest says ${manifest.bytes}`);
  const tensors = await decodeSeed(deps, input.seedModel);
  // The seed model is stored as a plain f32 frame whatever encoding it came in, so all clients get the same bytes.
  const header = readFrameHeader(input.seedModel);
  const seedFrame = !header.compressed && header.tensors.every((t) => t.encoding === 'f32') ? input.seedModel : await encodeFrame(tensors, { encoding: 'f32' });
  const bundleBlob = await deps.blobs.put(input.bundle);
  const seedBlob = await deps.blobs.put(seedFrame);
  const seed: ModelRecord = {
    id: `seed-${seedBlob.sha256.slice(0, 16)}`,
    parentId: null,
    sessionId: null,
    round: 0,
    sha256: seedBlob.sha256,
    bytes: seedBlob.bytes,
    blobPath: seedBlob.path,
    metrics: {},
    createdAt: Date.now(),
  };
  await deps.state.putModel(seed);
  const activate = input.activate ?? true;
  const rec: PackageRecord = {
    sha256: sha,
    name: manifest.name,
    version: manifest.version,
    manifest,
    seedModelId: seed.id,
    bytes: bundleBlob.bytes,
    createdAt: Date.now(),
    active: activate,
  };
  await deps.state.putPackage(rec, activate);
  const params = layoutSize(tensors.map((t) => ({ name: t.name, shape: t.shape })));
  deps.log.info({ name: rec.name, version: rec.version, sha256: sha, params }, 'compute package stored');
  return (await deps.state.getPackage(sha)) ?? rec;
}

/** The seed model's tensors: at least one, every value finite. */
async function decodeSeed(deps: Pick<ControllerDeps, 'compressor'>, frame: Uint8Array): Promise<NamedTensor[]> {
  try {
    const tensors = await decodeFrame(frame, { compressor: deps.compressor });
    if (tensors.length === 0) throw fedError('BAD_FRAME', 'the seed model has no tensors');
    for (const t of tensors) for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i]!)) throw fedError('NON_FINITE', `seed tensor ${t.name} is not finite`);
    return tensors;
  } catch (e) {
    throw fedError('PACKAGE_INVALID', `seed model: ${toFedError(e).message}`);
  }
}
