/**
 * Loading a compute package: verify its SHA-256 against the manifest BEFORE evaluating a single byte of it,
 * then import it as an ES module and check its exports.
 */
import { ComputePackageManifestSchema, fedError, sha256Hex, type ComputePackageManifest } from '@fedweb/codec';
import type { ComputePackageModule } from './types.js';

/** Imports ES module source text and returns its namespace. */
export type ModuleImporter = (code: Uint8Array) => Promise<Record<string, unknown>>;

/**
 * Imports module code from memory: a `blob:` URL where `URL.createObjectURL` exists (browsers, workers), a
 * `data:` URL otherwise (Node 20 imports `data:text/javascript` URLs natively; no temp file to clean up).
 *
 * @example
 * ```ts
 * const ns = await importModuleFromCode(new TextEncoder().encode('export const x = 1;'));
 * ns.x; // 1
 * ```
 */
export const importModuleFromCode: ModuleImporter = async (code) => {
  const g = globalThis as { Blob?: typeof Blob; URL?: typeof URL; process?: { versions?: { node?: string } } };
  const isNode = typeof g.process?.versions?.node === 'string';
  if (!isNode && g.Blob && g.URL && typeof g.URL.createObjectURL === 'function') {
    const url = g.URL.createObjectURL(new g.Blob([code as BlobPart], { type: 'text/javascript' }));
    try {
      return (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
    } finally {
      g.URL.revokeObjectURL(url);
    }
  }
  const url = `data:text/javascript;base64,${base64(code)}`;
  return (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
};

function base64(bytes: Uint8Array): string {
  const B = (globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: 'base64'): string } } }).Buffer;
  if (B) return B.from(bytes).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A verified, imported compute package. */
export interface LoadedPackage {
  manifest: ComputePackageManifest;
  module: ComputePackageModule;
}

/**
 * Verifies `code` against `manifest` (size and SHA-256), imports it and checks the entry points.
 * Fails with `PACKAGE_INVALID` (and never evaluates the code) when the hash differs.
 *
 * @example
 * ```ts
 * const { module } = await loadComputePackage(bytes, manifest);
 * const model = await module.createModel(tf, manifest.settings);
 * ```
 */
export async function loadComputePackage(
  code: Uint8Array,
  manifestInput: unknown,
  importer: ModuleImporter = importModuleFromCode,
): Promise<LoadedPackage> {
  const parsed = ComputePackageManifestSchema.safeParse(manifestInput);
  if (!parsed.success) throw fedError('PACKAGE_INVALID', `compute package manifest is invalid: ${parsed.error.message}`);
  const manifest = parsed.data;
  if (code.byteLength !== manifest.bytes) {
    throw fedError('PACKAGE_INVALID', `compute package ${manifest.name}@${manifest.version} is ${code.byteLength} bytes, manifest says ${manifest.bytes}; refusing to run it`);
  }
  const actual = await sha256Hex(code);
  if (actual !== manifest.sha256) {
    throw fedError('PACKAGE_INVALID', `compute package ${manifest.name}@${manifest.version} has SHA-256 ${actual}, manifest says ${manifest.sha256}; refusing to run it`, { expected: manifest.sha256, actual });
  }
  let ns: Record<string, unknown>;
  try {
    ns = await importer(code);
  } catch (e) {
    throw fedError('PACKAGE_INVALID', `compute package ${manifest.name} failed to load as an ES module: ${e instanceof Error ? e.message : String(e)}`, undefined, e);
  }
  const pick = (name: string, required: boolean): unknown => {
    const v = ns[name];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'function') throw fedError('PACKAGE_INVALID', `compute package ${manifest.name} must export a function \`${name}\` (got ${typeof v})`);
    return v;
  };
  const module = {
    createModel: pick(manifest.entry.createModel, true),
    train: pick(manifest.entry.train, false),
    validate: pick(manifest.entry.validate, false),
    loss: pick('loss', false),
    meta: ns.meta,
  } as ComputePackageModule;
  return { manifest, module };
}
