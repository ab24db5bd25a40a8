/**
 * Bounded memory (issue 18, point 2): a Node FedClient in a child process of its own (real in-process tfjs
 * trainer) against a hostile server, then the same server behaving. Each case must leave the client's peak RSS
 * (`process.resourceUsage().maxRSS`) within a healthy run's peak + 2x the model size + 64 MiB, and the client
 * must then train and upload a healthy round. Hostile cases: an endless discovery body, a model download far
 * longer than its reference, a deflate bomb inside a model frame whose SHA-256 matches, and a combiner message
 * that inflates (permessage-deflate) to 96 MiB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDeflateRaw } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '@fedweb/codec';
import { FakeServer } from '../client/testing/fake-server.js';
import { endless, trainTask, zerosFrame } from '../client/testing/hostile.js';

const CHILD = fileURLToPath(new URL('./testing/rss-child.ts', import.meta.url));
const MiB = 1024 * 1024;
const PACKAGE = new TextEncoder().encode(
  'export function createModel(tf) { const m = tf.sequential(); m.add(tf.layers.dense({ inputShape: [784], units: 128, activation: "relu" })); ' +
    'm.add(tf.layers.dense({ units: 10, activation: "softmax" })); return m; }',
);
const LAYOUT = [
  { name: 'w0', shape: [784, 128] },
  { name: 'w1', shape: [128] },
  { name: 'w2', shape: [128, 10] },
  { name: 'w3', shape: [10] },
];
/** The healthy model: a 784-128-10 MLP of zeros, 407 KB (the size the oversized download announced). */
const MODEL = await zerosFrame(LAYOUT);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A model frame whose body deflates `bodyBytes` of (nearly) zeros into a few hundred KiB. */
async function bombFrame(bodyBytes: number): Promise<Uint8Array> {
  const manifest = new TextEncoder().encode(JSON.stringify({ tensors: [{ name: 'w0', shape: [bodyBytes / 4], dtype: 'float32', encoding: 'f32', byteOffset: 0, byteLength: bodyBytes }] }));
  const deflate = createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((r) => deflate.on('end', r));
  const chunk = Buffer.alloc(MiB);
  // A few non-zero bytes per MiB keep the ratio below deflate's 1032:1 ceiling, which the frame header is checked against.
  for (let i = 0; i < chunk.length; i += 16 * 1024) chunk[i] = 1;
  for (let i = 0; i < bodyBytes / MiB; i++) if (!deflate.write(chunk)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await done;
  const body = Buffer.concat(parts);
  const bodyOffset = Math.ceil((16 + manifest.length) / 8) * 8;
  const out = new Uint8Array(bodyOffset + body.length);
  out.set(new TextEncoder().encode('FWF1'), 0);
  const dv = new DataView(out.buffer);
  dv.setUint8(4, 1);
  dv.setUint8(5, 1);
  dv.setUint32(8, manifest.length, true);
  dv.setUint32(12, bodyBytes, true);
  out.set(manifest, 16);
  out.set(body, bodyOffset);
  return out;
}

type ChildEvent = { event: string; code?: string; phase?: string; roundId?: string; status?: string; maxRssBytes?: number };

/** The client child: its events, and a way to wait for one. */
function startChild(url: string): { child: ChildProcess; events: ChildEvent[]; wait: (pred: (e: ChildEvent) => boolean, what: string) => Promise<ChildEvent> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => void child.kill('SIGKILL'));
  const events: ChildEvent[] = [];
  const waiters = new Set<{ pred: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }>();
  let buf = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let e: ChildEvent;
      try {
        e = JSON.parse(line) as ChildEvent;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of [...waiters]) if (w.pred(e)) (waiters.delete(w), w.resolve(e));
    }
  });
  const wait = (pred: (e: ChildEvent) => boolean, what: string): Promise<ChildEvent> => {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child: no ${what} within 90 s; events ${JSON.stringify(events.slice(-8))}; stderr ${stderr}`)), 90_000);
      waiters.add({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  };
  return { child, events, wait };
}

type Case = 'healthy' | 'discovery' | 'model' | 'bomb' | 'ws';

/** Runs one case: the hostile part (if any), then a healthy round; returns the child's peak RSS. */
async function peakRss(kind: Case): Promise<number> {
  const server = await FakeServer.start({ perMessageDeflate: kind === 'ws' });
  cleanups.push(() => server.close());
  const pkg = await server.blob('pkg', `/api/packages/${await sha256Hex(PACKAGE)}`, PACKAGE);
  const model = await server.blob('m1', '/api/models/m1', MODEL);
  const task = (roundId: string, m = model) => trainTask(roundId, m, pkg, { settings: { localEpochs: 1, batchSize: 8, learningRate: 0.1 } });
  let hostileDiscoveries = kind === 'discovery' ? 3 : 0;
  server.intercept = (req, res) => {
    if (req.url === '/api/discover' && hostileDiscoveries > 0) {
      hostileDiscoveries--;
      endless(res, '{"combinerId":"c","url":"');
      return true;
    }
    if (req.url === '/api/models/big') {
      endless(res);
      return true;
    }
    return false;
  };
  const c = startChild(server.url);
  await c.wait((e) => e.event === 'status' && e.status === 'connected', 'connected');
  if (kind === 'discovery') expect(c.events.filter((e) => e.code === 'FRAME_TOO_LARGE')).toHaveLength(3);
  if (kind === 'model') {
    server.send(task('bad', { ...model, url: '/api/models/big' }));
    expect((await c.wait((e) => e.event === 'round' && e.phase === 'failed', 'a failed round')).code).toBe('HASH_MISMATCH');
  }
  if (kind === 'bomb') {
    const bomb = await server.blob('bomb', '/api/models/bomb', await bombFrame(256 * MiB));
    server.send(task('bad', bomb));
    expect((await c.wait((e) => e.event === 'round' && e.phase === 'failed', 'a failed round')).code).toBe('FRAME_TOO_LARGE');
  }
  if (kind === 'ws') {
    server.current!.send('x'.repeat(96 * MiB), { compress: true });
    await c.wait((e) => e.event === 'status' && e.status === 'reconnecting', 'a reconnect');
    await c.wait((e) => e.event === 'status' && e.status === 'connected' && c.events.indexOf(e) > c.events.findIndex((x) => x.status === 'reconnecting'), 'connected again');
  }
  // The server behaves: a healthy round trains and is acknowledged.
  server.send(task('ok'));
  const u = await server.next('update', (m) => m.roundId === 'ok', 90_000);
  await server.nextFrame(u.uploadId, 90_000);
  server.send({ v: 2, kind: 'update.ack', uploadId: u.uploadId, roundId: 'ok' });
  await c.wait((e) => e.event === 'round' && e.roundId === 'ok' && e.phase === 'acknowledged', 'the healthy round acknowledged');
  c.child.stdin!.write('report\n');
  return (await c.wait((e) => e.event === 'report', 'the report')).maxRssBytes!;
}

describe('bounded memory: peak RSS of a Node client against a hostile server', () => {
  let healthy = 0;
  const bound = () => healthy + 2 * MODEL.length + 64 * MiB;

  it('healthy run: the baseline', async () => {
    healthy = await peakRss('healthy');
    expect(healthy).toBeGreaterThan(0);
  });

  for (const [kind, what] of [
    ['discovery', 'an endless discovery body (read to 64 KiB)'],
    ['model', 'a model download that never ends although its reference says 407 KB'],
    ['bomb', 'a deflate bomb inside a model frame (256 MiB inflated, SHA-256 matching)'],
    ['ws', 'a combiner message of 96 MiB, compressed with permessage-deflate'],
  ] as const) {
    it(`${what}: peak RSS within healthy + 2x model + 64 MiB, then a healthy round`, async () => {
      const peak = await peakRss(kind);
      console.log(`[memory-bound] ${kind}: peak RSS ${(peak / MiB).toFixed(0)} MiB (healthy ${(healthy / MiB).toFixed(0)} MiB, bound ${(bound() / MiB).toFixed(0)} MiB)`);
      expect(peak).toBeLessThanOrEqual(bound());
    });
  }
});
