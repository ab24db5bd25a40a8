import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeFrame, parseMessage, type BlobRef, type Message, type MessageOf } from '@fedweb/codec';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createAuthenticator } from '../auth.js';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { until } from '../testing/harness.js';
import { createMemoryLink } from '../transport.js';
import { Combiner } from './combiner.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A model blob (6 parameters) whose values differ by `v`, so that each round has its own SHA-256. */
async function modelBlob(v: number): Promise<{ ref: BlobRef; bytes: Uint8Array }> {
  const bytes = await encodeFrame([{ name: 'w0', shape: [4], data: new Float32Array(4).fill(v) }, { name: 'w1', shape: [2], data: new Float32Array(2).fill(v) }], { encoding: 'f32' });
  const sha256 = sha256Node(bytes);
  return { bytes, ref: { id: `m${v}`, sha256, url: `/api/blobs/${sha256}`, bytes: bytes.byteLength } };
}

/** A combiner whose model fetches resolve only when the test says, a controller side that records, and one client. */
async function combinerWithControlledFetch() {
  const fetches = new Map<string, { resolve(): void }>();
  const blobs = new Map<string, Uint8Array>();
  const combiner = new Combiner({
    combinerId: 'c1',
    clientUrl: '/ws/client',
    auth: createAuthenticator(undefined),
    compressor: nodeZlibCompressor,
    log: quiet,
    fetchBlob: (ref) => new Promise<Uint8Array>((resolve) => fetches.set(ref.sha256, { resolve: () => resolve(blobs.get(ref.sha256) as Uint8Array) })),
  });
  cleanups.push(() => combiner.close());
  const toController: Message[] = [];
  const link = createMemoryLink(quiet);
  link.connectA({ message: (m) => toController.push(m), binary: () => undefined, close: () => undefined });
  combiner.attachController(link.connectB({ message: (m) => combiner.handleControllerMessage(m), binary: () => undefined, close: () => combiner.handleControllerClosed() }));

  const wss = new WebSocketServer({ port: 0 });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  wss.on('connection', (socket) => combiner.attachClient(socket));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const toClient: Message[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  cleanups.push(() => ws.terminate());
  ws.on('message', (data) => {
    const r = parseMessage(String(data));
    if (r.ok) toClient.push(r.value);
  });
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  ws.send(JSON.stringify({ v: 2, kind: 'hello', clientId: 'a' }));
  await until(() => toClient.some((m) => m.kind === 'welcome'), 10_000, 'welcome');

  return {
    combiner,
    toController,
    toClient,
    /** Makes `blob` fetchable; its fetch resolves on `release`. */
    serve(blob: { ref: BlobRef; bytes: Uint8Array }) {
      blobs.set(blob.ref.sha256, blob.bytes);
    },
    fetchStarted: (sha256: string) => fetches.has(sha256),
    release: (sha256: string) => fetches.get(sha256)?.resolve(),
  };
}

function roundStart(roundId: string, round: number, model: BlobRef): MessageOf<'round.start'> {
  const r = parseMessage(
    JSON.stringify({
      v: 2,
      kind: 'round.start',
      sessionId: 's1',
      roundId,
      round,
      model,
      package: model,
      settings: { localEpochs: 1, batchSize: 8, learningRate: 0.1, encoding: 'f32' },
      strategy: { name: 'fedavg', options: {} },
      clientIds: ['a'],
      deadline: Date.now() + 60_000,
      quota: 1,
    }),
  );
  if (!r.ok || r.value.kind !== 'round.start') throw new Error('bad round.start in the test');
  return r.value;
}

describe('round.start on a combiner', () => {
  it('a slower, older round.start never overwrites a newer round: the newest wins and the older is answered with an error', async () => {
    const t = await combinerWithControlledFetch();
    const [modelN, modelNext] = [await modelBlob(1), await modelBlob(2)];
    t.serve(modelN);
    t.serve(modelNext);
    const [roundN, roundNext] = ['s1.r1.aaaa', 's1.r2.bbbb'];

    t.combiner.handleControllerMessage(roundStart(roundN, 1, modelN.ref));
    t.combiner.handleControllerMessage(roundStart(roundNext, 2, modelNext.ref));
    await until(() => t.fetchStarted(modelN.ref.sha256) && t.fetchStarted(modelNext.ref.sha256), 10_000, 'both model fetches');

    // N+1's model arrives first: its part opens and the client gets N+1's task.
    t.release(modelNext.ref.sha256);
    await until(() => t.toClient.some((m) => m.kind === 'task.train' && m.roundId === roundNext), 10_000, "round N+1's task");
    expect(t.combiner.openRoundId).toBe(roundNext);

    // Then N's model arrives late. Wait for whichever comes: N's task to the client (the bug) or N's error to the controller.
    t.release(modelN.ref.sha256);
    await until(
      () => t.toClient.some((m) => m.kind === 'task.train' && m.roundId === roundN) || t.toController.some((m) => m.kind === 'error' && m.ref === roundN),
      10_000,
      'round N to be handled',
    );
    expect(t.combiner.openRoundId).toBe(roundNext);
    expect(t.toClient.filter((m) => m.kind === 'task.train').map((m) => (m as MessageOf<'task.train'>).roundId)).toEqual([roundNext]);
    expect(t.toClient.some((m) => m.kind === 'task.cancel')).toBe(false);
    const answer = t.toController.find((m): m is MessageOf<'error'> => m.kind === 'error' && m.ref === roundN);
    expect(answer?.code).toBe('STALE_ROUND');
    expect(t.toController.some((m) => m.kind === 'error' && m.ref === roundNext)).toBe(false);
  });
});
