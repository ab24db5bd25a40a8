/** Vite `?url` imports (asset URLs), used for the tfjs wasm binaries. */
declare module '*?url' {
  const url: string;
  export default url;
}
