/**
 * Builds the tutorial site to `demo/dist` (served by the fedweb server with COOP/COEP headers).
 * Workspace packages resolve to their TypeScript sources; the tfjs WASM binaries are copied next to the
 * page (`/tfjs-wasm/`), so nothing is fetched from a CDN.
 */
import { defineConfig, type Plugin } from 'vite';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alias } from '../vite.config.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const wasmFiles = readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'));

/** Emits the tfjs WASM binaries as `tfjs-wasm/<name>.wasm` (build) and serves them in `vite dev`. */
function tfjsWasm(): Plugin {
  return {
    name: 'fedweb-tfjs-wasm',
    generateBundle() {
      for (const f of wasmFiles) this.emitFile({ type: 'asset', fileName: `tfjs-wasm/${f}`, source: readFileSync(join(wasmDir, f)) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/tfjs-wasm\/([\w.-]+\.wasm)$/.exec(req.url ?? '');
        if (!m || !wasmFiles.includes(m[1] as string)) return next();
        res.setHeader('content-type', 'application/wasm');
        res.end(readFileSync(join(wasmDir, m[1] as string)));
      });
    },
  };
}

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here,
  base: './',
  resolve: { alias },
  plugins: [tfjsWasm()],
  worker: { format: 'es' },
  build: { outDir: join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096, reportCompressedSize: false },
  server: { headers: isolation, proxy: { '/api': 'http://127.0.0.1:8080', '/ws': { target: 'ws://127.0.0.1:8080', ws: true } } },
  preview: { headers: isolation },
});
