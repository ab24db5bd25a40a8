/**
 * Builds the tutorial site to `demo/dist` (served by the fedweb server, which adds COOP/COEP headers).
 * Workspace packages resolve to their TypeScript sources. The tfjs WASM binaries are emitted next to the
 * bundle by the SDK's `?url` imports (`packages/sdk-client/src/trainer/wasm-assets.ts`): no CDN.
 */
import { defineConfig } from 'vite';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alias } from '../vite.config.js';

const here = dirname(fileURLToPath(import.meta.url));
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here,
  base: './',
  resolve: { alias },
  worker: { format: 'es' },
  build: {
    outDir: join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
    // The tutorial page, and the simulation harness's centralized-baseline page.
    rollupOptions: { input: { index: join(here, 'index.html'), centralized: join(here, 'centralized.html') } },
  },
  // `vite dev` against a server on :8080 (npm start), for working on the page.
  server: { headers: isolation, proxy: { '/api': 'http://127.0.0.1:8080', '/ws': { target: 'ws://127.0.0.1:8080', ws: true } } },
  preview: { headers: isolation },
});
