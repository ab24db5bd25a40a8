/**
 * `fedweb package` (alias `packages`): build a compute package, make a signing key, sign one (offline); upload one
 * (with a progress bar on a terminal), show the active one, a stored one's manifest, download a bundle (REST).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fedError, formatBytes } from '@fedweb/codec';
import type { PackageView } from '../api-client/index.js';
import { generatePackageKeyPair, signPackageDir } from '../package-signing.js';
import { readPackageDir } from '../server.js';
import { JSON_HELP, JSON_OPTION, need, num, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { download } from './models.js';
import { show, table, when, type Column, type Out } from './output.js';
import { progressBar } from './progress.js';

/** The help text of `fedweb package`. */
export const PACKAGE_HELP = `usage: fedweb package build <entry.ts> [options]
       fedweb package keygen --out <private-key.pem> [--force]
       fedweb package sign <dir> --key <private-key.pem>
       fedweb package upload <dir> [--no-activate] [--json]      (POST /api/packages; audited)
       fedweb package active [--json]                            (the package new sessions train)
       fedweb package manifest <sha256>                          (a stored package's manifest, JSON)
       fedweb package download <sha256> [-o file]                (a stored package's bundle)

build options (delegates to @fedweb/sdk-client/build):
  --out <dir>             output folder (default ./dist/package)
  --name <name>           package name (default: the entry's folder name)
  --version <v>           (default 0.1.0)
  --seed <n>              seed of the initial weights (default 42)
  --minify
  --no-smoke-test         skip the one-step training check

keygen writes a new Ed25519 private key (PKCS#8 PEM, mode 0600; keep it off the server) and prints its public
key ('ed25519:<base64>') and key id. sign adds a signature over the bundle's SHA-256 to <dir>/manifest.json; clients
created with FedClient({ trustedPackageKeys: ['ed25519:...'] }) refuse any package without a valid signature by
one of those keys, before running a line of it.

The folder holds package.mjs, manifest.json and seed-model.fwf; 'fedweb server --package <dir>' uploads it.
upload and download show a progress bar on a terminal.

REST options:
${REMOTE_HELP}
${JSON_HELP}`;

/** The columns of a package table. */
export const PACKAGE_COLUMNS: Column<PackageView>[] = [
  { header: 'SHA256', value: (p) => p.sha256.slice(0, 16) },
  { header: 'NAME', value: (p) => p.name },
  { header: 'VERSION', value: (p) => p.version },
  { header: 'ACTIVE', value: (p) => (p.active ? 'yes' : 'no') },
  { header: 'BYTES', value: (p) => p.bundle.bytes, right: true },
  { header: 'SEED MODEL', value: (p) => p.seedModel?.id },
  { header: 'CREATED', value: (p) => when(p.createdAt) },
];

/** `upload`, `active`, `manifest`, `download`: the REST side of `fedweb package`. */
async function remoteAction(action: string, args: string[], out: Out): Promise<number> {
  const { values, positionals } = parse(args, { ...REMOTE_OPTIONS, ...JSON_OPTION, activate: { type: 'boolean' }, out: { type: 'string', short: 'o' } }, true);
  if (values.help) return out.line(PACKAGE_HELP), 0;
  const api = remote(values);
  const timeoutMs = num(values['timeout-ms'], 'timeout-ms') ?? 120_000;
  switch (action) {
    case 'upload': {
      const dir = need(positionals, 0, 'fedweb package upload <dir>');
      const pkg = await readPackageDir(dir);
      const bar = progressBar(out, `upload ${dir}`);
      let uploaded: PackageView;
      try {
        uploaded = await api.uploadPackage({ ...pkg, ...(values.activate === false ? { activate: false } : {}) }, { timeoutMs, ...(bar ? { onProgress: bar.update } : {}) });
      } finally {
        bar?.done();
      }
      return show(out, values.json, { package: uploaded }, () => table([uploaded], PACKAGE_COLUMNS)), 0;
    }
    case 'active': {
      const pkg = await api.activePackage();
      return show(out, values.json, { package: pkg }, () => table([pkg], PACKAGE_COLUMNS)), 0;
    }
    case 'manifest':
      return out.line(JSON.stringify(await api.packageManifest(need(positionals, 0, 'fedweb package manifest <sha256>')), null, 2)), 0;
    default: {
      const sha = need(positionals, 0, 'fedweb package download <sha256> [-o file]');
      const file = values.out ?? `${sha.slice(0, 16)}.mjs`;
      const n = await download(out, `package ${sha.slice(0, 12)}`, file, (o) => api.downloadPackage(sha, { timeoutMs, ...o }));
      return out.line(`package ${sha}: ${formatBytes(n)} written to ${file}`), 0;
    }
  }
}

async function keygen(args: string[], out: Out): Promise<number> {
  const { values } = parse(args, { out: { type: 'string' }, force: { type: 'boolean' } });
  if (values.help) return out.line(PACKAGE_HELP), 0;
  if (!values.out) throw fedError('BAD_CONFIG', 'usage: fedweb package keygen --out <private-key.pem>');
  const pair = await generatePackageKeyPair();
  await writeFile(values.out, pair.privateKeyPem, { mode: 0o600, flag: values.force ? 'w' : 'wx' }).catch((e: NodeJS.ErrnoException) => {
    throw fedError('BAD_CONFIG', e.code === 'EEXIST' ? `${values.out} exists; pass --force to replace it` : e.message);
  });
  out.line(`private key written to ${values.out} (keep it secret, off the server)`);
  out.line(`key id ${pair.keyId}`);
  out.line(`public key ${pair.publicKey}`);
  return 0;
}

async function signDir(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parse(args, { key: { type: 'string' } }, true);
  if (values.help) return out.line(PACKAGE_HELP), 0;
  const dir = positionals[0];
  if (!dir || !values.key) throw fedError('BAD_CONFIG', 'usage: fedweb package sign <dir> --key <private-key.pem>');
  const r = await signPackageDir(dir, await readFile(values.key, 'utf8'));
  out.line(`signed ${dir} (bundle ${r.sha256}) with key ${r.keyId}; clients trust it with trustedPackageKeys: ['${r.publicKey}']`);
  return 0;
}

/**
 * Runs `fedweb package ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdPackage(['sign', './dist/package', '--key', 'signing-key.pem'], STDOUT);
 * ```
 */
export async function cmdPackage(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(PACKAGE_HELP), 0;
  if (['upload', 'active', 'manifest', 'download'].includes(action)) return remoteAction(action, rest, out);
  if (action === 'keygen') return keygen(rest, out);
  if (action === 'sign') return signDir(rest, out);
  if (action !== 'build') throw fedError('BAD_CONFIG', `unknown package action '${action}' (see fedweb package --help)`);
  const { values, positionals } = parse(
    rest,
    { out: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, seed: { type: 'string' }, minify: { type: 'boolean' }, 'smoke-test': { type: 'boolean', default: true } },
    true,
  );
  if (values.help) return out.line(PACKAGE_HELP), 0;
  const entry = positionals[0];
  if (!entry) throw fedError('BAD_CONFIG', 'usage: fedweb package build <entry.ts>');
  let build: { buildComputePackage?: (opts: Record<string, unknown>) => Promise<{ manifest: { name: string; version: string; sha256: string }; params: number; files: Record<string, string> }> };
  try {
    // A variable specifier keeps this an optional, runtime-only dependency of the server package.
    const specifier = '@fedweb/sdk-client/build';
    build = (await import(specifier)) as typeof build;
  } catch (e) {
    throw fedError('BAD_CONFIG', `'fedweb package build' needs @fedweb/sdk-client (its ./build entry) installed next to @fedweb/server: ${(e as Error).message}`);
  }
  if (typeof build.buildComputePackage !== 'function') throw fedError('BAD_CONFIG', '@fedweb/sdk-client/build does not export buildComputePackage');
  const r = await build.buildComputePackage({
    entry,
    outDir: values.out ?? './dist/package',
    ...(values.name ? { name: values.name } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(values.seed ? { seed: num(values.seed, 'seed') } : {}),
    ...(values.minify ? { minify: true } : {}),
    smokeTest: values['smoke-test'] !== false,
  });
  out.line(`built ${r.manifest.name}@${r.manifest.version} (${r.params} parameters, sha256 ${r.manifest.sha256}) in ${values.out ?? './dist/package'}`);
  return 0;
}
