/**
 * Package code can always be stopped (issue 18, point 4): the Node FedClient runs compute packages in a
 * worker_thread. A package whose `train()` busy-loops and ignores the abort, and one whose `createModel` never
 * returns, cannot stop the client's heartbeats; the timeout terminates the thread (the loop stops: the file it
 * appends to stops growing), the combiner is told, and a fresh thread serves the next task.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex, type BlobRef } from '@fedweb/codec';
import { FakeServer } from '../client/testing/fake-server.js';
import { trainTask, zerosFrame } from '../client/testing/hostile.js';
import { FedClient, type FedError, type RoundEvent } from './index.js';

const LAYOUT = [
  { name: 'w0', shape: [4, 3] },
  { name: 'w1', shape: [3] },
];
const MODEL = await zerosFrame(LAYOUT);
const CREATE = 'export function createModel(tf) { const m = tf.sequential(); m.add(tf.layers.dense({ inputShape: [4], units: 3, activation: "softmax" })); return m; }';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'fedweb-isolation-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const trace = join(dir, 'loop.trace');
  const server = await FakeServer.start();
  cleanups.push(() => server.close());
  server.heartbeatMs = 100;
  const model = await server.blob('m1', '/api/models/m1', MODEL);
  const pkg = async (id: string, code: string): Promise<BlobRef> => {
    const bytes = new TextEncoder().encode(code);
    return server.blob(id, `/api/packages/${await sha256Hex(bytes)}`, bytes);
  };
  // A loop that leaves a trace (a byte appended to a file every few million turns) while it runs.
  const loop = `const fs = await import('node:fs'); function spin() { for (let i = 0; ; i++) if (i % 5e6 === 0) fs.appendFileSync(${JSON.stringify(trace)}, 'x'); }`;
  const packages = {
    good: await pkg('good', CREATE),
    busyTrain: await pkg('busy-train', `${loop}\n${CREATE}\nexport async function train() { spin(); }`),
    stuckCreate: await pkg('stuck-create', `${loop}\nexport function createModel() { spin(); }`),
  };
  const task = (roundId: string, p: BlobRef) => trainTask(roundId, model, p, { settings: { localEpochs: 1, batchSize: 4, learningRate: 0.1 } });
  const client = new FedClient({
    server: server.url,
    id: 'kiosk-1',
    cache: false,
    backend: 'cpu',
    data: { load: () => ({ x: new Float32Array(32).fill(0.5), xShape: [4], y: new Int32Array(8).map((_, i) => i % 3), yShape: [] }) },
    // Starting a thread loads tfjs in it (seconds on a busy machine); the package load that never ends waits this long.
    timeouts: { trainMs: 4000, trainerSetupMs: 20_000 },
    backoff: { baseMs: 20, maxMs: 200 },
    logger: { warn: () => {} },
  });
  cleanups.push(() => client.stop());
  const rounds: RoundEvent[] = [];
  const errors: FedError[] = [];
  client.on('round', (r) => rounds.push(r));
  client.on('error', (e) => errors.push(e));
  await client.start();
  const traced = async () => (await stat(trace).catch(() => ({ size: 0 }))).size;
  const healthyRound = async (roundId: string) => {
    server.send(task(roundId, packages.good));
    const u = await server.next('update', (m) => m.roundId === roundId, 60_000);
    await server.nextFrame(u.uploadId, 60_000);
    server.send({ v: 2, kind: 'update.ack', uploadId: u.uploadId, roundId });
    await until(() => rounds.some((r) => r.roundId === roundId && r.phase === 'acknowledged'), `round ${roundId} acknowledged`);
  };
  return { server, client, task, packages, rounds, errors, trace, traced, healthyRound };
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Node FedClient: package code runs in a worker_thread that can always be stopped', () => {
  for (const [kind, what] of [
    ['busyTrain', 'a train() that busy-loops and ignores the abort'],
    ['stuckCreate', 'a createModel() that never returns'],
  ] as const) {
    it(`${what}: heartbeats continue, the timeout terminates the thread, the combiner is told, a fresh thread serves the next task`, async () => {
      const s = await setup();
      s.server.send(s.task('r1', s.packages[kind]));
      // While the package spins (its trace grows), the client's own event loop keeps beating.
      await until(() => existsSync(s.trace), 'the package loop to run', 60_000);
      const beating = s.server.pendingKinds().filter((k) => k === 'heartbeat').length;
      for (let i = 0; i <= beating + 2; i++) await s.server.next('heartbeat', () => true, 10_000);
      const told = await s.server.next('error', (m) => m.ref === 't-r1', 60_000);
      expect(told.code).toBe('TIMEOUT');
      // The loop left a trace while it ran, and stops leaving one once its thread is terminated.
      expect(await s.traced()).toBeGreaterThan(0);
      await s.healthyRound('r2');
      const after = await s.traced();
      await s.healthyRound('r3');
      expect(await s.traced()).toBe(after);
      expect(s.client.status).not.toBe('failed');
    });
  }
});
