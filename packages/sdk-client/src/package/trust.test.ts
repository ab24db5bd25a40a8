/**
 * Signed compute packages, end to end in Node: a real fedweb server (HTTP + WebSocket) sends a package to a Node
 * FedClient configured with `trustedPackageKeys`, with the real in-process trainer (which imports the bundle). Each
 * bundle records its own evaluation in a global, so "refused BEFORE load" is observed, not assumed: a package signed
 * by a trusted key is evaluated; an unsigned one, one signed by another key, and a tampered one (new code, manifest
 * re-hashed, the old signature copied) are refused with PACKAGE_UNTRUSTED, the client stops (`failed`), and their
 * code never ran. The control (no trusted keys) runs the tampered code: the check is what stops it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, type FedError } from '@fedweb/codec';
import { generatePackageKeyPair, signPackageManifest, startServer, type FedServer, type PackageKeyPair } from '@fedweb/server';
import { createInProcessTrainer, FedClient } from '../node/index.js';

const g = globalThis as { __fedwebEvaluated?: string[] };
const root = await mkdtemp(join(tmpdir(), 'fedweb-signing-'));
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
afterAll(() => rm(root, { recursive: true, force: true }));

const trusted: PackageKeyPair = await generatePackageKeyPair();
const stranger: PackageKeyPair = await generatePackageKeyPair();

/** A package whose evaluation pushes `tag` onto a global (createModel throws: nothing here needs to train). */
async function makePackage(tag: string): Promise<{ manifest: Record<string, unknown>; bundle: Uint8Array; seedModel: Uint8Array }> {
  const source = `globalThis.__fedwebEvaluated = [...(globalThis.__fedwebEvaluated ?? []), ${JSON.stringify(tag)}];\nexport function createModel() { throw new Error('${tag}: not trainable'); }\n`;
  const bundle = new TextEncoder().encode(source);
  const manifest = { name: tag, version: '1.0.0', sha256: createHash('sha256').update(bundle).digest('hex'), bytes: bundle.byteLength };
  return { manifest, bundle, seedModel: await encodeFrame([{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }], { encoding: 'f32' }) };
}

/** Starts a server with `pkg` active and one Node client with `keys`; resolves when the client failed or evaluated `tag`. */
async function run(pkg: { manifest: Record<string, unknown>; bundle: Uint8Array; seedModel: Uint8Array }, tag: string, keys: string[] | undefined) {
  const server: FedServer = await startServer({ dataDir: join(root, `server-${tag}`), port: 0, logger: false, waitPollMs: 100 });
  cleanups.push(() => server.close());
  await server.controller.uploadPackage(pkg);
  const errors: FedError[] = [];
  const client = new FedClient({
    server: server.url,
    id: `c-${tag}`,
    cache: false,
    backend: 'cpu',
    // In this process, so the test sees the bundle's global mark (the default Node trainer is a worker_thread).
    trainer: () => createInProcessTrainer(),
    ...(keys ? { trustedPackageKeys: keys } : {}),
    data: { load: () => ({ x: new Float32Array(4), xShape: [2], y: new Int32Array(2), yShape: [] }) },
    logger: { warn: () => {} },
  });
  client.on('error', (e) => errors.push(e));
  cleanups.push(() => client.stop());
  await client.start();
  const outcome = new Promise<'failed' | 'evaluated'>((resolve) => {
    const timer = setInterval(() => {
      if (client.status === 'failed') resolve('failed');
      else if (g.__fedwebEvaluated?.includes(tag)) resolve('evaluated');
      else return;
      clearInterval(timer);
    }, 20);
  });
  await server.controller.startSession({ rounds: 1, clientsRequired: 1, roundTimeoutMs: 30_000 });
  return { outcome: await outcome, errors: errors.map((e) => e.code), evaluated: g.__fedwebEvaluated?.includes(tag) ?? false, status: client.status };
}

describe('trustedPackageKeys', () => {
  it('a package signed by a trusted key is loaded (its code runs)', async () => {
    const pkg = await makePackage('signed');
    const signed = await signPackageManifest(pkg.manifest, pkg.bundle, trusted.privateKeyPem);
    const r = await run({ ...pkg, manifest: signed.manifest }, 'signed', [trusted.publicKey]);
    expect(r.outcome).toBe('evaluated');
    expect(r.errors).not.toContain('PACKAGE_UNTRUSTED');
  });

  it('unsigned, signed by an untrusted key, or tampered after signing: PACKAGE_UNTRUSTED before a line runs, and the client stops', async () => {
    const unsigned = await makePackage('unsigned');
    const foreign = await makePackage('foreign');
    const original = await makePackage('original');
    const tampered = await makePackage('tampered');
    const signedOriginal = await signPackageManifest(original.manifest, original.bundle, trusted.privateKeyPem);
    const cases = {
      unsigned,
      foreign: { ...foreign, manifest: (await signPackageManifest(foreign.manifest, foreign.bundle, stranger.privateKeyPem)).manifest },
      // The attacker controls the server: new code, a manifest re-hashed to match it, the genuine signature copied.
      tampered: { ...tampered, manifest: { ...tampered.manifest, signatures: signedOriginal.manifest.signatures } },
    };
    for (const [tag, pkg] of Object.entries(cases)) {
      const r = await run(pkg, tag, [trusted.publicKey]);
      expect({ tag, outcome: r.outcome, evaluated: r.evaluated, status: r.status }).toEqual({ tag, outcome: 'failed', evaluated: false, status: 'failed' });
      expect(r.errors, tag).toContain('PACKAGE_UNTRUSTED');
    }
  });

  it('control: without trusted keys the tampered package runs', async () => {
    const original = await makePackage('original2');
    const tampered = await makePackage('tampered2');
    const signedOriginal = await signPackageManifest(original.manifest, original.bundle, trusted.privateKeyPem);
    const r = await run({ ...tampered, manifest: { ...tampered.manifest, signatures: signedOriginal.manifest.signatures } }, 'tampered2', undefined);
    expect(r.outcome).toBe('evaluated');
  });

  it('a malformed trusted key is a BAD_CONFIG at construction', () => {
    expect(() => new FedClient({ server: 'http://127.0.0.1:1', trustedPackageKeys: ['nope'], data: { load: () => ({ x: new Float32Array(0), xShape: [1], y: new Int32Array(0), yShape: [] }) } })).toThrow(/Ed25519/);
  });
});
