/**
 * Signed compute packages in headless Chromium: the page's FedClient verifies the signature with the browser's own
 * WebCrypto Ed25519, in the page, before the Web Worker evaluates the bundle. Each bundle announces its evaluation
 * with a request to `/evaluated/<tag>` (a route of the test's server), so "refused before load" is observed: the
 * signed package is evaluated; the tampered one (new code, manifest re-hashed, the genuine signature copied) is
 * refused with PACKAGE_UNTRUSTED, the client stops (`failed`), and `/evaluated/tampered` is never requested.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '@fedweb/codec';
import { generatePackageKeyPair, signPackageManifest, startServer, type FedServer, type PackageKeyPair } from '@fedweb/server';
import { buildPage, launchChromium, type BuiltPage, type LaunchedChromium } from '../../test/browser.js';

const evaluated: string[] = [];
let root: string;
let built: BuiltPage;
let server: FedServer;
let chromium: LaunchedChromium;
let key: PackageKeyPair;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fedweb-trust-browser-'));
  built = await buildPage(fileURLToPath(new URL('./testing/page', import.meta.url)));
  server = await startServer({
    dataDir: join(root, 'server'),
    port: 0,
    staticDir: built.dir,
    logger: false,
    waitPollMs: 100,
    plugins: [
      async (app) => {
        app.get('/evaluated/:tag', async (req) => {
          evaluated.push((req.params as { tag: string }).tag);
          return {};
        });
      },
    ],
  });
  chromium = await launchChromium();
  key = await generatePackageKeyPair();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  built?.remove();
  await rm(root, { recursive: true, force: true });
});

async function makePackage(tag: string): Promise<{ manifest: Record<string, unknown>; bundle: Uint8Array; seedModel: Uint8Array }> {
  const source = `void fetch('/evaluated/${tag}');\nexport function createModel() { throw new Error('${tag}: not trainable'); }\n`;
  const bundle = new TextEncoder().encode(source);
  const manifest = { name: tag, version: '1.0.0', sha256: createHash('sha256').update(bundle).digest('hex'), bytes: bundle.byteLength };
  return { manifest, bundle, seedModel: await encodeFrame([{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }], { encoding: 'f32' }) };
}

/** Activates `pkg`, opens the page as client `tag` trusting `key`, runs a session until the page failed or evaluated `tag`. */
async function run(pkg: Awaited<ReturnType<typeof makePackage>>, tag: string): Promise<{ outcome: string; errors: string[] }> {
  await server.controller.uploadPackage(pkg);
  const page = await chromium.newPage();
  await page.goto(`${server.url}/index.html?id=b-${tag}&key=${encodeURIComponent(key.publicKey)}`);
  while (!server.registry.list().some((c) => c.clients.has(`b-${tag}`))) await new Promise((r) => setTimeout(r, 100));
  const session = await server.controller.startSession({ rounds: 1, clientsRequired: 1, roundTimeoutMs: 60_000 });
  let outcome = '';
  while (!outcome) {
    if (evaluated.includes(tag)) outcome = 'evaluated';
    else if ((await page.evaluate(() => window.fedwebTrust.status())) === 'failed') outcome = 'failed';
    else await new Promise((r) => setTimeout(r, 100));
  }
  const errors = (await page.evaluate(() => window.fedwebTrust.errors)) as string[];
  await server.controller.stopSession(session.id).catch(() => undefined);
  await page.close();
  return { outcome, errors };
}

describe('trustedPackageKeys in Chromium', () => {
  it('a signed package is evaluated in the worker; a tampered one is refused with PACKAGE_UNTRUSTED before it runs', async () => {
    const signed = await makePackage('signed');
    const signedManifest = (await signPackageManifest(signed.manifest, signed.bundle, key.privateKeyPem)).manifest;
    const ok = await run({ ...signed, manifest: signedManifest }, 'signed');
    expect(ok.outcome).toBe('evaluated');
    expect(ok.errors).not.toContain('PACKAGE_UNTRUSTED');

    const tampered = await makePackage('tampered');
    const bad = await run({ ...tampered, manifest: { ...tampered.manifest, signatures: signedManifest.signatures } }, 'tampered');
    expect(bad.outcome).toBe('failed');
    expect(bad.errors).toContain('PACKAGE_UNTRUSTED');
    expect(evaluated).not.toContain('tampered');
  });
});
