/**
 * `fedweb package`: build a compute package, upload one, make a signing key, sign one (see PACKAGE_HELP).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ApiClient } from './api-client/index.js';
import { num, parse } from './cli-args.js';
import { generatePackageKeyPair, signPackageDir } from './package-signing.js';
import { readPackageDir } from './server.js';

/** The help text of `fedweb package`. */
export const PACKAGE_HELP = `usage: fedweb package build <entry.ts> [options]
       fedweb package upload <dir> [--url <http-url>] [--token <jwt>]
       fedweb package keygen --out <private-key.pem> [--force]
       fedweb package sign <dir> --key <private-key.pem>

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

The folder holds package.mjs, manifest.json and seed-model.fwf; 'fedweb server --package <dir>' uploads it.`;

async function keygen(args: string[]): Promise<void> {
  const { values } = parse(args, { out: { type: 'string' }, force: { type: 'boolean' } });
  if (values.help) return void console.log(PACKAGE_HELP);
  if (!values.out) throw new Error('usage: fedweb package keygen --out <private-key.pem>');
  const pair = await generatePackageKeyPair();
  await writeFile(values.out, pair.privateKeyPem, { mode: 0o600, flag: values.force ? 'w' : 'wx' }).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === 'EEXIST' ? `${values.out} exists; pass --force to replace it` : e.message);
  });
  console.log(`private key written to ${values.out} (keep it secret, off the server)`);
  console.log(`key id ${pair.keyId}`);
  console.log(`public key ${pair.publicKey}`);
}

async function signDir(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { key: { type: 'string' } }, true);
  if (values.help) return void console.log(PACKAGE_HELP);
  const dir = positionals[0];
  if (!dir || !values.key) throw new Error('usage: fedweb package sign <dir> --key <private-key.pem>');
  const r = await signPackageDir(dir, await readFile(values.key, 'utf8'));
  console.log(`signed ${dir} (bundle ${r.sha256}) with key ${r.keyId}; clients trust it with trustedPackageKeys: ['${r.publicKey}']`);
}

/**
 * `fedweb package <build|upload|keygen|sign>`.
 * @example
 * ```ts
 * await cmdPackage(['sign', './dist/package', '--key', 'signing-key.pem']);
 * ```
 */
export async function cmdPackage(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return void console.log(PACKAGE_HELP);
  if (action === 'upload') {
    const { values, positionals } = parse(rest, { url: { type: 'string' }, token: { type: 'string' } }, true);
    if (values.help) return void console.log(PACKAGE_HELP);
    const dir = positionals[0];
    if (!dir) throw new Error('usage: fedweb package upload <dir>');
    const pkg = await readPackageDir(dir);
    const url = values.url ?? process.env.FEDWEB_URL ?? 'http://127.0.0.1:8080';
    const token = values.token ?? process.env.FEDWEB_TOKEN;
    const uploaded = await new ApiClient({ baseUrl: url, token }).uploadPackage({ manifest: pkg.manifest, bundle: pkg.bundle, seedModel: pkg.seedModel }, { timeoutMs: 120_000 });
    return void console.log(JSON.stringify({ package: uploaded }, null, 2));
  }
  if (action === 'keygen') return keygen(rest);
  if (action === 'sign') return signDir(rest);
  if (action !== 'build') throw new Error(`unknown package action '${action}' (see fedweb package --help)`);
  const { values, positionals } = parse(
    rest,
    { out: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, seed: { type: 'string' }, minify: { type: 'boolean' }, 'smoke-test': { type: 'boolean', default: true } },
    true,
  );
  if (values.help) return void console.log(PACKAGE_HELP);
  const entry = positionals[0];
  if (!entry) throw new Error('usage: fedweb package build <entry.ts>');
  let build: { buildComputePackage?: (opts: Record<string, unknown>) => Promise<{ manifest: { name: string; version: string; sha256: string }; params: number; files: Record<string, string> }> };
  try {
    // A variable specifier keeps this an optional, runtime-only dependency of the server package.
    const specifier = '@fedweb/sdk-client/build';
    build = (await import(specifier)) as typeof build;
  } catch (e) {
    throw new Error(`'fedweb package build' needs @fedweb/sdk-client (its ./build entry) installed next to @fedweb/server: ${(e as Error).message}`);
  }
  if (typeof build.buildComputePackage !== 'function') throw new Error('@fedweb/sdk-client/build does not export buildComputePackage');
  const r = await build.buildComputePackage({
    entry,
    outDir: values.out ?? './dist/package',
    ...(values.name ? { name: values.name } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(values.seed ? { seed: num(values.seed, 'seed') } : {}),
    ...(values.minify ? { minify: true } : {}),
    smokeTest: values['smoke-test'] !== false,
  });
  console.log(`built ${r.manifest.name}@${r.manifest.version} (${r.params} parameters, sha256 ${r.manifest.sha256}) in ${values.out ?? './dist/package'}`);
}
