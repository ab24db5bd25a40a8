/**
 * Diagnostic for the benchmark: the same plain tfjs loop as the main-thread baseline, run in a bare Web Worker
 * (comlink, no fedweb trainer). Separates what a worker itself costs (e.g. WebGL on an OffscreenCanvas) from
 * what fedweb's trainer adds.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as Comlink from 'comlink';
import { wasmAssetUrls } from '../../../src/trainer/wasm-assets.js';
import type { ComputePackageModule, Model } from '../../../src/package/types.js';
import { rawTrain } from './raw-loop.js';

setWasmPaths(wasmAssetUrls());
let model: Model | null = null;
let seed: tf.Tensor[] = [];
let data: { x: Float32Array; y: Int32Array } | null = null;

const api = {
  async setup(code: ArrayBuffer, settings: Record<string, unknown>, backend: string): Promise<boolean> {
    if (!(await tf.setBackend(backend))) return false;
    await tf.ready();
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    const module = (await import(/* @vite-ignore */ url)) as ComputePackageModule;
    URL.revokeObjectURL(url);
    model = await module.createModel(tf, settings);
    seed = model.getWeights().map((w) => w.clone());
    return true;
  },
  setData(x: Float32Array, y: Int32Array) {
    data = { x, y };
  },
  raw: (n: number, batchSize: number, learningRate: number) => rawTrain(tf, model!, seed, data!, n, batchSize, learningRate),
};
export type RawWorker = typeof api;
Comlink.expose(api);
