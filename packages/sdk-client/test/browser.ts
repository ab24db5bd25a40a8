/**
 * Browser test helpers, shared by the SDK's tests, the e2e suite and `bench/client.ts`:
 *  - {@link launchChromium}: Debian's headless Chromium via playwright-core, the flags below, a fresh profile,
 *    optionally WebGPU (`--enable-unsafe-webgpu`: SwiftShader's software adapter);
 *  - {@link buildPage}: a vite build of a page folder (workspace packages resolve to their sources, workers as ES
 *    modules), into a temporary folder;
 *  - {@link serveStatic}: a tiny node:http server on 127.0.0.1:0 with COOP/COEP headers (cross-origin isolation:
 *    SharedArrayBuffer, threaded wasm), serving a folder plus extra in-memory or on-disk routes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/**
 * The flags every fedweb browser test uses (e2e/lib/browser.ts reads them from here): no sandbox (Chromium
 * will not start its sandbox as root, as tests run in containers), no QUIC, and no first-run, background-network,
 * component-update or sync traffic, so a test talks only to its own 127.0.0.1 server. Never `--use-angle=vulkan`.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface LaunchedChromium {
  context: BrowserContext;
  /** Opens a page that forwards its console errors and page errors to `onLog` (default: collected in `logs`). */
  newPage(): Promise<Page>;
  /** Console and page-error lines of every page opened with `newPage`, for failure messages. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh user-data-dir (removed on close).
 *
 * @example
 * ```ts
 * const b = await launchChromium({ webgpu: true });
 * const page = await b.newPage();
 * await page.goto(url);
 * await b.close();
 * ```
 */
export async function launchChromium(opts: { webgpu?: boolean; extraArgs?: string[]; headful?: boolean } = {}): Promise<LaunchedChromium> {
  const dir = mkdtempSync(join(tmpdir(), 'fedweb-chromium-'));
  const args = [...CHROMIUM_ARGS, ...(opts.webgpu ? ['--enable-unsafe-webgpu'] : []), ...(opts.extraArgs ?? [])];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, headless: !opts.headful, args });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const logs: string[] = [];
  return {
    context,
    logs,
    async newPage() {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') logs.push(`[console.${m.type()}] ${m.text()}`);
      });
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BuiltPage {
  /** The folder holding the built page (index.html + assets). */
  dir: string;
  /** Removes the folder. */
  remove(): void;
}

/**
 * Builds the page in `root` (an `index.html` plus its scripts) with vite into a temporary folder.
 * Workspace packages (`@fedweb/*`) resolve to their sources, as in the tests; workers are ES modules.
 *
 * @example
 * ```ts
 * const page = await buildPage(fileURLToPath(new URL('./pages/trainer', import.meta.url)));
 * const server = await serveStatic(page.dir);
 * ```
 */
export async function buildPage(root: string, opts: { outDir?: string; minify?: boolean } = {}): Promise<BuiltPage> {
  const { build } = await import('vite');
  // The repository's alias table (workspace packages -> sources); imported by path so tsc keeps it out of this project.
  const configUrl = pathToFileURL(resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../vite.config.ts')).href;
  const { alias } = (await import(/* @vite-ignore */ configUrl)) as { alias: Record<string, string> };
  const outDir = opts.outDir ?? mkdtempSync(join(tmpdir(), 'fedweb-page-'));
  await build({
    configFile: false,
    root: resolve(root),
    base: './',
    logLevel: 'error',
    resolve: { alias },
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: opts.minify ?? false, reportCompressedSize: false, chunkSizeWarningLimit: 8192 },
  });
  return { dir: outDir, remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

/** A route's content: bytes, or a file on disk (read per request). */
export type Route = Uint8Array | { file: string };

export interface StaticServer {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  origin: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

/**
 * Serves `dir` (and `routes`, checked first) on 127.0.0.1 at an ephemeral port with cross-origin isolation
 * headers (`Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy: require-corp`).
 *
 * @example
 * ```ts
 * const s = await serveStatic(page.dir, { '/data/train.bin': bytes, '/pkg/package.mjs': { file: '/path/package.mjs' } });
 * await browserPage.goto(`${s.origin}/index.html`);
 * await s.close();
 * ```
 */
export async function serveStatic(dir: string, routes: Record<string, Route> = {}): Promise<StaticServer> {
  const root = resolve(dir);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    try {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
      res.setHeader('Cache-Control', 'no-store');
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const route = routes[path];
      let body: Uint8Array | undefined;
      let file = '';
      if (route) {
        if (route instanceof Uint8Array) body = route;
        else file = route.file;
      } else {
        file = normalize(join(root, path === '/' ? 'index.html' : path));
        if (file !== root && !file.startsWith(root + sep)) {
          res.writeHead(403).end();
          return;
        }
      }
      if (!body) {
        if (!file || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
          res.writeHead(404).end();
          return;
        }
        body = readFileSync(file);
      }
      res.writeHead(200, { 'Content-Type': TYPES[extname(file || path)] ?? 'application/octet-stream', 'Content-Length': body.byteLength });
      res.end(body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  };
  const server = createServer(handler);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** MNIST digits as one binary blob for a page: u32 n, then n*784 f32 pixels, then n i32 labels (little-endian). */
export function packMnist(d: { x: Float32Array; y: Int32Array }): Uint8Array {
  const n = d.y.length;
  const out = new Uint8Array(4 + n * 784 * 4 + n * 4);
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(new Uint8Array(d.x.buffer, d.x.byteOffset, d.x.byteLength), 4);
  out.set(new Uint8Array(d.y.buffer, d.y.byteOffset, d.y.byteLength), 4 + n * 784 * 4);
  return out;
}
