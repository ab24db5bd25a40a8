/// <reference types="vite/client" />
// Vite's client types: `?url` asset imports (the SDK's tfjs wasm binaries) and CSS side-effect imports.
