/**
 * The FedClient test harness: a {@link FakeServer}, scripted trainers, a memory cache, and clients on them that
 * record every event. Test-only (used by fed-client.test.ts and kiosk.test.ts).
 */
import { WebSocket } from 'ws';
import { sha256Hex, type MessageInput, type MessageOf } from '@fedweb/codec';
import { FedClientCore } from '../fed-client.js';
import { FakeServer } from './fake-server.js';
import { FakeTrainers } from './fake-trainer.js';
import { trainTask } from './hostile.js';
import { createMemoryCache } from '../../cache/memory-cache.js';
import type { ClientCache } from '../../cache/types.js';
import type { SocketConstructor } from '../../transport/socket.js';
import type { FedClientEvents, FedClientOptions, FedPlatform } from '../types.js';

export const testPlatform: FedPlatform = {
  name: 'node',
  WebSocket: WebSocket as unknown as SocketConstructor,
  fetch: (i, init) => globalThis.fetch(i, init),
  createTrainer: () => {
    throw new Error('tests pass options.trainer');
  },
  openCache: async () => createMemoryCache(),
  capabilities: async () => ({ platform: 'node', hardwareConcurrency: 2, visible: true }),
  deviceKey: async () => 'test-device',
};

export const dataset = () => ({ x: new Float32Array(12), xShape: [3], y: new Int32Array([0, 1, 1, 0]), yShape: [] });

/** Records every event of a client, with a way to wait for one. */
export function record(client: FedClientCore) {
  const log: { [K in keyof FedClientEvents]: FedClientEvents[K][] } = { status: [], round: [], model: [], progress: [], metrics: [], error: [], withdrawn: [], failed: [] };
  const waiters: { kind: keyof FedClientEvents; pred: (p: never) => boolean; resolve: (p: unknown) => void }[] = [];
  for (const kind of Object.keys(log) as (keyof FedClientEvents)[]) {
    client.on(kind, (p) => {
      (log[kind] as unknown[]).push(p);
      for (const w of [...waiters]) {
        if (w.kind === kind && w.pred(p as never)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(p);
        }
      }
    });
  }
  const wait = <K extends keyof FedClientEvents>(kind: K, pred: (p: FedClientEvents[K]) => boolean = () => true, ms = 20_000) => {
    const seen = (log[kind] as FedClientEvents[K][]).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<FedClientEvents[K]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no '${String(kind)}' event matching within ${ms} ms`)), ms);
      waiters.push({ kind, pred: pred as (p: never) => boolean, resolve: (p) => (clearTimeout(t), resolve(p as FedClientEvents[K])) });
    });
  };
  return { log, wait };
}

export type Started = { client: FedClientCore; ev: ReturnType<typeof record> };

export interface Harness {
  server: FakeServer;
  trainers: FakeTrainers;
  cache: ClientCache;
  modelBytes: Uint8Array;
  task: (roundId: string, over?: Partial<MessageInput<'task.train'>>) => MessageInput<'task.train'>;
  validate: (roundId: string) => MessageInput<'task.validate'>;
  /** A client on this server and cache (not started), stopped after the test. */
  client: (over?: Partial<FedClientOptions>) => Started;
  /** A client on this server and cache, started: its `welcome` arrived. */
  joined: (over?: Partial<FedClientOptions>) => Promise<Started>;
  /** Sends task `roundId` with training held (until `trainers.release()`), once training started. */
  holdTraining: (roundId: string) => Promise<void>;
  /** Sends task `roundId` and resolves with the client's `update` once every chunk of it arrived. */
  uploaded: (roundId: string) => Promise<MessageOf<'update'>>;
  /** Answers an update with `update.ack`. */
  ack: (update: MessageOf<'update'>) => void;
  /** Resolves once the client handled every message sent before (a message it reports as an `error` event follows them). */
  handled: (ev: Started['ev']) => Promise<void>;
}

export const cleanups: (() => Promise<void>)[] = [];
/** Stops every client and server the harness made (each test file calls it in `afterEach`). */
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
}

export async function harness(opts: { updateBytes?: number; heartbeatMs?: number; platform?: FedPlatform } = {}): Promise<Harness> {
  const server = await FakeServer.start();
  cleanups.push(() => server.close());
  if (opts.heartbeatMs !== undefined) server.heartbeatMs = opts.heartbeatMs;
  const trainers = new FakeTrainers({ updateBytes: opts.updateBytes ?? 64 });
  const cache = createMemoryCache();
  const modelBytes = new Uint8Array(256).map((_, i) => (i * 7) & 255);
  const model = await server.blob('m1', '/api/models/m1', modelBytes);
  const pkgBytes = new TextEncoder().encode('export function createModel(tf) { return null; }');
  const pkgSha = await sha256Hex(pkgBytes);
  const pkg = await server.blob('mlp', `/api/packages/${pkgSha}`, pkgBytes);
  const task = (roundId: string, over: Partial<MessageInput<'task.train'>> = {}): MessageInput<'task.train'> => trainTask(roundId, model, pkg, { deadline: Date.now() + 60_000, ...over });
  const validate = (roundId: string): MessageInput<'task.validate'> => ({
    v: 2,
    kind: 'task.validate',
    taskId: `v-${roundId}`,
    sessionId: 's1',
    roundId,
    model,
    package: pkg,
    deadline: Date.now() + 60_000,
  });
  const client = (over: Partial<FedClientOptions> = {}): Started => {
    const c = new FedClientCore(
      {
        server: server.url,
        data: { load: dataset },
        trainer: trainers.factory,
        cache,
        backoff: { baseMs: 20, maxMs: 200 },
        timeouts: { ackMs: 3000, stopMs: 2000 },
        logger: { warn: () => {} },
        ...over,
      },
      opts.platform ?? testPlatform,
    );
    cleanups.push(() => c.stop());
    return { client: c, ev: record(c) };
  };
  const joined = async (over: Partial<FedClientOptions> = {}): Promise<Started> => {
    const c = client(over);
    await c.client.start();
    return c;
  };
  const holdTraining = async (roundId: string): Promise<void> => {
    trainers.hold = true;
    const started = trainers.trainStarted();
    server.send(task(roundId));
    await started;
  };
  const uploaded = async (roundId: string): Promise<MessageOf<'update'>> => {
    server.send(task(roundId));
    const update = await server.next('update');
    await server.nextFrame(update.uploadId);
    return update;
  };
  const ack = (u: MessageOf<'update'>) => server.send({ v: 2, kind: 'update.ack', uploadId: u.uploadId, roundId: u.roundId });
  let marks = 0;
  const handled = async (ev: Started['ev']): Promise<void> => {
    const ref = `mark-${++marks}`;
    server.send({ v: 2, kind: 'error', code: 'UNAVAILABLE', message: 'test barrier', ref });
    await ev.wait('error', (e) => e.details?.['ref'] === ref);
  };
  return { server, trainers, cache, modelBytes, task, validate, client, joined, holdTraining, uploaded, ack, handled };
}

/** A client trains and uploads round `roundId`, then reloads (stops) before the ack arrives; its cache keeps the update. */
export async function reloadedBeforeAck(roundId = 'r1') {
  const h = await harness();
  const a = await h.joined();
  const u1 = await h.uploaded(roundId);
  await a.client.stop();
  return { h, a, u1 };
}

/** A fresh harness and a client joined to it. */
export async function joinedClient(opts: Parameters<typeof harness>[0] = {}, over: Partial<FedClientOptions> = {}): Promise<Started & { h: Harness }> {
  const h = await harness(opts);
  return { h, ...(await h.joined(over)) };
}

