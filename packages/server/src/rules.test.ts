import { describe, expect, it } from 'vitest';
import { encodeFrame, readFrameHeader, splitIntoChunks, type MessageOf } from '@fedweb/codec';
import type { FedServer } from './server.js';
import { fetchModelFlat, until } from './testing/harness.js';
import { api, TestClient, type TestClientOptions, type TestUpdate, type TrainTask } from './testing/test-client.js';
import { serverFixture } from '../test/fixture.js';

// Seed model: w0 = [1, 2, 3, 4], w1 = [0, 1] (6 parameters).
const SEED = [
  { name: 'w0', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'w1', shape: [2], data: new Float32Array([0, 1]) },
];
const seedPlus = (d: number[]): number[] => [1, 2, 3, 4, 0, 1].map((v, i) => v + (d[i] as number));
const ONES: TestUpdate = { delta: new Float32Array([1, 1, 1, 1, 1, 1]), numExamples: 1, encoding: 'f32' };
const TWOS: TestUpdate = { delta: new Float32Array([2, 2, 2, 2, 2, 2]), numExamples: 3, encoding: 'f32' };

const { setup, connect } = serverFixture(SEED);

async function sessionRounds(server: FedServer, config: Record<string, unknown>) {
  const s = await server.controller.startSession({ roundTimeoutMs: 20_000, encoding: 'f32', ...config });
  const done = await server.controller.waitForSession(s.id, ['completed', 'failed', 'stopped'], 40_000);
  return { session: done, rounds: (await server.controller.getSession(s.id)).rounds };
}

/** Sends an update frame as announced chunks, without the test client's encoding (bad-input tests). */
function sendFrame(client: TestClient, task: TrainTask, frame: Uint8Array, extra: Partial<MessageOf<'update'>> = {}): string {
  const uploadId = `u${Math.random().toString(36).slice(2, 10)}`;
  const chunks = splitIntoChunks(frame, { uploadId });
  client.sendRaw(
    JSON.stringify({ v: 1, kind: 'update', taskId: task.taskId, roundId: task.roundId, uploadId, numExamples: 5, metrics: {}, sha256: '0'.repeat(64), byteLength: frame.byteLength, chunkCount: chunks.length, ...extra }),
  );
  for (const c of chunks) client.sendRaw(c);
  return uploadId;
}

async function sha(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

describe('round rules', () => {
  it('refuses an update for a closed round with STALE_ROUND and never merges it into the next round', async () => {
    const server = await setup();
    let firstTask: TrainTask | null = null;
    let staleError: MessageOf<'error'> | null = null;
    const a = await connect(server, {
      clientId: 'a',
      onTrain: async (task, ctx) => {
        if (!firstTask) {
          firstTask = task;
          return ONES;
        }
        // Round 2: first replay a huge update for round 1, then send the real one.
        const err = ctx.client.waitFor('error', (m) => m.code === 'STALE_ROUND');
        await ctx.client.sendUpdate(firstTask, { delta: new Float32Array(6).fill(1000), numExamples: 1000, encoding: 'f32' }, ctx.layout);
        staleError = await err;
        return ONES;
      },
    });
    await connect(server, { clientId: 'b', onTrain: () => TWOS });
    const { rounds } = await sessionRounds(server, { rounds: 2, clientsRequired: 2 });
    expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed']);
    expect(staleError).not.toBeNull();
    expect(rounds[1]!.updates).toBe(2);
    expect(rounds[1]!.weight).toBe(4);
    // Each round: seed + (1*1 + 3*2)/4 = +1.75 per round, so +3.5 after two rounds (the stale 1000s never count).
    expect([...(await fetchModelFlat(server.url, rounds[1]!.modelId!))]).toEqual(seedPlus(new Array(6).fill(3.5)));
    expect(a.connected).toBe(true);
  });

  it('closes on the deadline and refuses a late update with STALE_ROUND', async () => {
    const server = await setup();
    await connect(server, { clientId: 'fast', onTrain: () => ONES });
    const slow = await connect(server, { clientId: 'slow', onTrain: () => ({ ...TWOS, delayMs: 2500 }) });
    const late = slow.waitFor('error', (m) => m.code === 'STALE_ROUND', 20_000);
    const { rounds } = await sessionRounds(server, { rounds: 1, clientsRequired: 2, roundTimeoutMs: 1000 });
    expect(rounds[0]!.status).toBe('committed');
    expect(rounds[0]!.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, rounds[0]!.modelId!))]).toEqual(seedPlus(new Array(6).fill(1)));
    await late;
  });

  it('does not wait for a client that disconnects mid-upload beyond the reconnect grace, and never counts its partial upload', async () => {
    // x never comes back: the part closes once its 300 ms reconnect grace has run out.
    const server = await setup({ combiner: { reconnectGraceMs: 300 } });
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    await connect(server, { clientId: 'b', onTrain: () => TWOS });
    await connect(server, {
      clientId: 'x',
      autoReconnect: false,
      // 3 chunks of 16 bytes are sent, then the socket is dropped without a close handshake.
      onTrain: () => ({ delta: new Float32Array(6).fill(500), numExamples: 500, encoding: 'f32', chunkSize: 16, stopAfterChunks: 3 }),
    });
    // A one-minute deadline: the round can only finish within the wait below because x is not waited for.
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 3, roundTimeoutMs: 60_000, encoding: 'f32' });
    const done = await server.controller.waitForSession(s.id, ['completed', 'failed'], 20_000);
    const r = (await server.controller.getSession(s.id)).rounds[0]!;
    expect(done.status).toBe('completed');
    expect(r.updates).toBe(2);
    expect(r.weight).toBe(4);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(new Array(6).fill(1.75)));
    expect(server.combiner?.health().inflightBytes).toBe(0);
  });

  it('refuses bad frames with typed errors, counts none of them and stays alive', async () => {
    const server = await setup();
    const errors = new Map<string, string>();
    const bad = async (id: string, make: (task: TrainTask) => Promise<void>): Promise<TestClient> => {
      const c = await connect(server, {
        clientId: id,
        onTrain: async (task) => {
          const err = c.waitFor('error', (m) => m.code !== 'BAD_MESSAGE' || id === 'garbage-text');
          await make(task);
          errors.set(id, (await err).code);
          return null;
        },
      });
      return c;
    };
    await connect(server, { clientId: 'good', onTrain: () => ONES });
    const clients: Record<string, TestClient> = {};
    clients.garbage = await bad('garbage', async (task) => {
      sendFrame(clients.garbage!, task, new Uint8Array(200).fill(7), { sha256: await sha(new Uint8Array(200).fill(7)) });
    });
    clients.shape = await bad('shape', async (task) => {
      const frame = await encodeFrame([{ name: 'w0', shape: [3], data: new Float32Array(3) }, { name: 'w1', shape: [2], data: new Float32Array(2) }], { encoding: 'f32' });
      sendFrame(clients.shape!, task, frame, { sha256: await sha(frame) });
    });
    clients.nan = await bad('nan', async (task) => {
      const frame = await encodeFrame(SEED, { encoding: 'f32' });
      const h = readFrameHeader(frame);
      new DataView(frame.buffer, frame.byteOffset).setUint32(h.bodyOffset + 4, 0x7fc00000, true); // NaN in w0[1]
      sendFrame(clients.nan!, task, frame, { sha256: await sha(frame) });
    });
    clients.hash = await bad('hash', async (task) => {
      const frame = await encodeFrame(SEED, { encoding: 'f32' });
      sendFrame(clients.hash!, task, frame, { sha256: 'f'.repeat(64) });
    });
    clients.huge = await bad('huge', async (task) => {
      clients.huge!.sendRaw(JSON.stringify({ v: 1, kind: 'update', taskId: task.taskId, roundId: task.roundId, uploadId: 'big1', numExamples: 1, metrics: {}, sha256: 'a'.repeat(64), byteLength: 2 ** 31, chunkCount: 4096 }));
    });
    clients.chunk = await bad('chunk', async () => {
      clients.chunk!.sendRaw(new Uint8Array([1, 2, 3, 4, 5]));
    });
    clients.text = await bad('garbage-text', async () => {
      clients.text!.sendRaw('{"v":1,"kind":"update","nonsense":true');
    });
    const { rounds } = await sessionRounds(server, { rounds: 1, clientsRequired: 8, roundTimeoutMs: 4000 });
    const r = rounds[0]!;
    expect(Object.fromEntries(errors)).toEqual({
      garbage: 'BAD_FRAME',
      shape: 'SHAPE_MISMATCH',
      nan: 'NON_FINITE',
      hash: 'HASH_MISMATCH',
      huge: 'FRAME_TOO_LARGE',
      chunk: 'BAD_CHUNK',
      'garbage-text': 'BAD_MESSAGE',
    });
    expect(r.status).toBe('committed');
    expect(r.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(new Array(6).fill(1)));
    // The process is alive and every socket is still usable.
    expect((await api(server.url, '/api/status')).kind).toBe('status');
    expect(Object.values(clients).every((c) => c.connected)).toBe(true);
  });

  it('selects clients by capability, samples clientsPerRound and aggregates validation metrics', async () => {
    const server = await setup();
    const trained = new Set<string>();
    const mk = (id: string, capabilities: TestClientOptions['capabilities'], update: TestUpdate, acc: number, n: number) =>
      connect(server, {
        clientId: id,
        capabilities,
        onTrain: () => {
          trained.add(id);
          return update;
        },
        onValidate: () => ({ numExamples: n, metrics: { accuracy: acc } }),
      });
    await mk('plain', { platform: 'node' }, ONES, 0.5, 2);
    await mk('charging', { battery: { level: 0.05, charging: true } }, TWOS, 1, 6);
    await mk('low', { battery: { level: 0.1, charging: false } }, { ...ONES, delta: new Float32Array(6).fill(99) }, 0, 100);
    await mk('cell', { connection: { type: 'cellular' } }, { ...ONES, delta: new Float32Array(6).fill(99) }, 0, 100);
    const { rounds } = await sessionRounds(server, {
      rounds: 1,
      clientsRequired: 2,
      validate: true,
      selection: { minBattery: 0.2, excludeConnectionTypes: ['cellular'] },
    });
    const r = rounds[0]!;
    expect([...trained].sort()).toEqual(['charging', 'plain']);
    expect(r.updates).toBe(2);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(new Array(6).fill(1.75)));
    // Example-weighted validation accuracy: (0.5*2 + 1*6) / 8 = 0.875.
    expect(r.validationMetrics.accuracy).toBeCloseTo(0.875, 12);
    expect(r.validationMetrics.clients).toBe(2);

    // clientsPerRound samples a subset of the eligible clients.
    trained.clear();
    const second = await sessionRounds(server, { rounds: 1, clientsRequired: 1, clientsPerRound: 1 });
    expect(second.rounds[0]!.updates).toBe(1);
    expect(trained.size).toBe(1);
  });

  it('reports online status from heartbeats and replaces the socket of a reconnecting client id', async () => {
    const server = await setup({ heartbeatMs: 150 });
    await connect(server, { clientId: 'alive' });
    const silent = await connect(server, { clientId: 'silent', heartbeat: false, autoReconnect: false });
    const first = await connect(server, { clientId: 'dup', autoReconnect: false });
    const closed = new Promise<void>((resolve) => first.once('disconnected', () => resolve()));
    await connect(server, { clientId: 'dup' });
    await closed;
    await until(async () => {
      const { clients } = await api(server.url, '/api/clients');
      const byId = Object.fromEntries((clients as Array<{ clientId: string; online: boolean }>).map((c) => [c.clientId, c.online]));
      return byId.alive === true && byId.dup === true && byId.silent === false;
    }, 10_000, 'silent client offline, others online');
    expect(silent.connected).toBe(false);
    expect(server.combiner?.clientCount).toBe(2);
  });

  it('pauses, resumes and stops sessions', async () => {
    const server = await setup();
    await connect(server, { clientId: 'a', onTrain: () => ({ ...ONES, delayMs: 100 }) });
    const s = await server.controller.startSession({ rounds: 50, roundTimeoutMs: 10_000, encoding: 'f32' });
    await until(async () => (await server.controller.getSession(s.id)).session.completedRounds >= 1, 20_000, 'first round');
    await server.controller.pauseSession(s.id);
    await until(async () => !(await server.controller.getSession(s.id)).live, 20_000, 'the round in flight to finish');
    const paused = (await server.controller.getSession(s.id)).session.completedRounds;
    await new Promise((r) => setTimeout(r, 400));
    expect((await server.controller.getSession(s.id)).session.completedRounds).toBe(paused);
    await server.controller.resumeSession(s.id);
    await until(async () => (await server.controller.getSession(s.id)).session.completedRounds > paused, 20_000, 'progress after resume');
    await server.controller.stopSession(s.id);
    const stopped = await server.controller.waitForSession(s.id, ['stopped']);
    expect(stopped.status).toBe('stopped');
    await expect(server.controller.resumeSession(s.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    // The trail is a chain: every model's parent is the previous one.
    const trail = await server.controller.modelTrail(s.id);
    expect(trail.length).toBeGreaterThanOrEqual(2);
    trail.forEach((m, i) => expect(m.parentId).toBe(i === 0 ? s.initialModelId : trail[i - 1]!.id));
  });
});
