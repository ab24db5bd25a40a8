/**
 * The page the FedClient browser tests drive: embeds FedClient exactly as a web page would (public entry
 * `@fedweb/sdk-client`), on the same origin as the fedweb server that serves it. Query: `?backend=`, `?data=`,
 * `?trainMs=`, `?fastRetry`.
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
      /**
       * Reloads the page from inside the first `progress` handler (so: mid-training), keeping the round id. From
       * then on this page's training never finishes: a reload ends the worker, and a navigation that takes long
       * to commit must not let the leaving page finish the round in its place.
       */
      reloadOnFirstProgress: () => void;
      /**
       * Reloads the page when FedClient sends the first chunk of an update (so: the update is cached and announced,
       * no chunk reached the combiner); the leaving page sends no chunk.
       */
      reloadOnFirstChunk: () => void;
      /** The round id the page was training or uploading when it reloaded itself. */
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

/** Set when the page reloads itself: what it would still do is cut off, as the end of the document would. */
let leaving = false;
function leave(roundId: string): void {
  leaving = true;
  sessionStorage.setItem('fedweb-test-reloaded-during', roundId);
  location.reload();
}

/** The browser's WebSocket, except that it can reload the page at the first binary frame (an update chunk). */
let reloadOnChunk = false;
let uploadingRound = '';
class TestSocket extends WebSocket {
  override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (typeof data === 'string') {
      const m = JSON.parse(data) as { kind?: string; roundId?: string };
      if (m.kind === 'update' && m.roundId) uploadingRound = m.roundId;
    } else {
      if (reloadOnChunk) {
        reloadOnChunk = false;
        leave(uploadingRound);
      }
      if (leaving) return;
    }
    super.send(data);
  }
}
globalThis.WebSocket = TestSocket;

const handles: WorkerTrainerHandle[] = [];
const events: Recorded[] = [];
const plain = (p: unknown): unknown =>
  p instanceof Error ? { code: (p as { code?: string }).code, message: p.message } : p && typeof p === 'object' ? JSON.parse(JSON.stringify(p, (_k, v) => (v instanceof Error ? { code: (v as { code?: string }).code, message: v.message } : v))) : p;

// `?trainMs=`: the training timeout; `?fastRetry`: a short reconnect backoff (the kiosk tests' hostile servers).
const trainMs = Number(q.get('trainMs') ?? 0);
const client = new FedClient({
  server: location.origin,
  backend: (q.get('backend') ?? 'auto') as BackendChoice,
  ...(trainMs > 0 ? { timeouts: { trainMs } } : {}),
  ...(q.has('fastRetry') ? { backoff: { baseMs: 20, maxMs: 200 } } : {}),
  data: { load: loadDigits },
  // The default trainer, kept at hand so the test can kill its worker.
  trainer: () => {
    const h = createWorkerTrainer();
    const train = h.api.train;
    // A page that is leaving never sees its training finish.
    h.api.train = (req, onProgress) => train(req, onProgress).then((r) => (leaving ? new Promise<never>(() => {}) : r));
    handles.push(h);
    return h;
  },
});
let reloadOnProgress = false;
client.on('progress', (p) => {
  if (!reloadOnProgress) return;
  reloadOnProgress = false;
  leave(p.roundId);
});
for (const kind of ['status', 'round', 'model', 'progress', 'metrics', 'error', 'withdrawn'] as const) {
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
  reloadOnFirstChunk: () => {
    reloadOnChunk = true;
  },
  reloadedDuring: () => sessionStorage.getItem('fedweb-test-reloaded-during'),
};

client.start().catch((e: unknown) => {
  statusEl.textContent = `start failed: ${(e as Error).message}`;
});
