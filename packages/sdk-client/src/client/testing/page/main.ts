/**
 * The page the FedClient browser tests drive: embeds FedClient exactly as a web page would (public entry
 * `@fedweb/sdk-client`), on the same origin as the fedweb server that serves it. Query: `?backend=`, `?data=`.
 * Exposes `window.fedwebPage` for the test: recorded events, and a way to kill the trainer worker.
 */
import { FedClient, createWorkerTrainer, type BackendChoice, type Dataset, type FedClientEvents, type WorkerTrainerHandle } from '@fedweb/sdk-client';

type Recorded = { kind: keyof FedClientEvents; at: number; payload: unknown };

declare global {
  interface Window {
    fedwebPage: {
      events: Recorded[];
      clientId: () => string | undefined;
      backend: () => unknown;
      killWorker: () => Promise<boolean>;
      workers: () => number;
      stop: () => Promise<void>;
      /** Reloads the page from inside the first `progress` handler (so: mid-training), keeping the round id. */
      reloadOnFirstProgress: () => void;
      /** The round id the page was training when `reloadOnFirstProgress` reloaded it. */
      reloadedDuring: () => string | null;
    };
  }
}

const q = new URLSearchParams(location.search);
const statusEl = document.getElementById('status')!;

/** The test's MNIST blob: u32 n, n*784 f32 pixels, n i32 labels (little-endian); fresh arrays on every call. */
async function loadDigits(): Promise<Dataset> {
  const res = await fetch(q.get('data') ?? '/data/train.bin');
  if (!res.ok) throw new Error(`data: HTTP ${res.status}`);
  const buf = await res.arrayBuffer();
  const n = new DataView(buf).getUint32(0, true);
  return { x: new Float32Array(buf, 4, n * 784), xShape: [784], y: new Int32Array(buf, 4 + n * 784 * 4, n), yShape: [] };
}

const handles: WorkerTrainerHandle[] = [];
const events: Recorded[] = [];
const plain = (p: unknown): unknown =>
  p instanceof Error ? { code: (p as { code?: string }).code, message: p.message } : p && typeof p === 'object' ? JSON.parse(JSON.stringify(p, (_k, v) => (v instanceof Error ? { code: (v as { code?: string }).code, message: v.message } : v))) : p;

const client = new FedClient({
  server: location.origin,
  backend: (q.get('backend') ?? 'auto') as BackendChoice,
  data: { load: loadDigits },
  // The default trainer, kept at hand so the test can kill its worker.
  trainer: () => {
    const h = createWorkerTrainer();
    handles.push(h);
    return h;
  },
});
let reloadOnProgress = false;
client.on('progress', (p) => {
  if (!reloadOnProgress) return;
  reloadOnProgress = false;
  sessionStorage.setItem('fedweb-test-reloaded-during', p.roundId);
  location.reload();
});
for (const kind of ['status', 'round', 'progress', 'metrics', 'error'] as const) {
  client.on(kind, (payload) => {
    events.push({ kind, at: Date.now(), payload: plain(payload) });
    if (kind === 'status') statusEl.textContent = (payload as FedClientEvents['status']).status;
  });
}

window.fedwebPage = {
  events,
  clientId: () => client.clientId,
  backend: () => plain(client.backend),
  killWorker: async () => {
    const h = handles.at(-1);
    if (!h) return false;
    await h.terminate();
    return true;
  },
  workers: () => handles.length,
  stop: () => client.stop(),
  reloadOnFirstProgress: () => {
    reloadOnProgress = true;
  },
  reloadedDuring: () => sessionStorage.getItem('fedweb-test-reloaded-during'),
};

client.start().catch((e: unknown) => {
  statusEl.textContent = `start failed: ${(e as Error).message}`;
});
