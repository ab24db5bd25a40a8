/**
 * The page of the browser signature test: a FedClient (public entry, Web Worker trainer) on the origin of the fedweb
 * server that serves it. Query: `?id=` (client id), `?key=` (repeatable: trustedPackageKeys). Exposes
 * `window.fedwebTrust`: the error codes seen and the client's status.
 */
import { FedClient } from '@fedweb/sdk-client';

declare global {
  interface Window {
    fedwebTrust: { errors: string[]; status: () => string };
  }
}

const q = new URLSearchParams(location.search);
const keys = q.getAll('key');
const client = new FedClient({
  server: location.origin,
  id: q.get('id') ?? 'trust-page',
  cache: false,
  backend: 'cpu',
  ...(keys.length > 0 ? { trustedPackageKeys: keys } : {}),
  data: { load: () => ({ x: new Float32Array(4), xShape: [2], y: new Int32Array(2), yShape: [] }) },
});
window.fedwebTrust = { errors: [], status: () => client.status };
client.on('error', (e) => window.fedwebTrust.errors.push(e.code));
void client.start();
