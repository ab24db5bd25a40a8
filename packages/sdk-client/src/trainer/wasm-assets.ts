/**
 * Default location of the tfjs wasm binaries in a vite build: `?url` imports make vite copy them next to the
 * bundle and give their URLs, so nothing is fetched from a CDN. Pass `init({ wasmPaths })` to serve them from
 * elsewhere (a prefix ending in `/` under which `tfjs-backend-wasm*.wasm` from
 * `node_modules/@tensorflow/tfjs-backend-wasm/dist/` are served).
 */
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/**
 * The URL of each wasm binary, as `setWasmPaths` takes them.
 *
 * @example
 * ```ts
 * setWasmPaths(wasmAssetUrls());
 * ```
 */
export function wasmAssetUrls(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string> {
  return { 'tfjs-backend-wasm.wasm': plain, 'tfjs-backend-wasm-simd.wasm': simd, 'tfjs-backend-wasm-threaded-simd.wasm': threaded };
}
