/**
 * The Web Worker entry: the trainer exposed with comlink. Bundled by vite from
 * `new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })` in `worker-client.ts`.
 * Every ArrayBuffer it returns is transferred; every error leaves as a {@link WireError}.
 */
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import { createCompressionStreamCompressor, fflateCompressor } from '@fedweb/codec';
import { createTrainer } from './trainer.js';
import { exposeTrainer } from './expose.js';
import type { BackendEnv } from './backends.js';

/**
 * Browser backends, probed in this order by `auto`. WebGPU and WASM are separate modules, imported on first use;
 * the wasm binaries come from `init({ wasmPaths })` or, by default, from the copies vite emits next to the bundle.
 */
export const browserBackends: BackendEnv = {
  candidates: ['webgpu', 'webgl', 'wasm', 'cpu'],
  available: {
    // Asked before tfjs tries, so that a browser or machine without them gets a line in the probe table instead
    // of tfjs' "Initialization of backend webgpu failed" and a stack trace on the console.
    webgpu: async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      if (!gpu) return 'not offered by this browser (no navigator.gpu)';
      const adapter = await gpu.requestAdapter().catch(() => null);
      return adapter ? null : 'no WebGPU adapter on this device';
    },
    webgl: async () => {
      if (typeof OffscreenCanvas !== 'function') return 'no OffscreenCanvas in this worker';
      const canvas = new OffscreenCanvas(1, 1);
      return canvas.getContext('webgl2') || canvas.getContext('webgl') ? null : 'no WebGL context on this device';
    },
  },
  register: {
    webgpu: async () => {
      await import('@tensorflow/tfjs-backend-webgpu');
    },
    wasm: async ({ wasmPaths }) => {
      // Pages served with COOP/COEP (the demo) have SharedArrayBuffer, so tfjs would pick the threaded wasm build,
      // whose pthread workers re-run the bundled module script and die ("e is not defined") inside a bundled
      // module worker. The single-threaded SIMD build is what we measure and ship.
      const wasm = await import('@tensorflow/tfjs-backend-wasm'); // registers the flag set below
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths);
      else wasm.setWasmPaths((await import('./wasm-assets.js')).wasmAssetUrls());
    },
  },
};

const compressor = typeof CompressionStream === 'function' ? createCompressionStreamCompressor() : fflateCompressor;
const trainer = createTrainer(tf, { compressor, backends: browserBackends });

const exposed = exposeTrainer(trainer, () => tf.getBackend());

export type ExposedTrainer = typeof exposed;

Comlink.expose(exposed);
