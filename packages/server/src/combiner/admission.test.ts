import { describe, expect, it } from 'vitest';
import { encodeFrame, readFrameHeader, splitIntoChunks, type ErrorCode, type MessageOf } from '@fedweb/codec';
import { fetchModelFlat, until } from '../testing/harness.js';
import { api, TestClient, type TestUpdate, type TrainTask } from '../testing/test-client.js';
import { serverFixture } from '../../test/fixture.js';
import { BY_EXAMPLES, firstRoundWhenDone, LAYOUT, ONES, sessionRounds, SEED, seedPlus, reconnect, sendHeldUpdate, TWOS } from '../../test/tiny-session.js';

// The same bytes as ONES, announced with a SHA-256 they do not have.
const WRONG_HASH: TestUpdate = { ...ONES, sha256: 'f'.repeat(64) };

const { setup, connect } = serverFixture(SEED);

/** Uploads `update` for `task` and resolves with the code of the error it gets back. */
async function uploadForError(client: TestClient, task: TrainTask, update: TestUpdate): Promise<ErrorCode> {
  const err = client.waitFor('error', () => true, 20_000);
  await client.sendUpdate(task, update, LAYOUT);
  return (await err).code;
}

/** Sends an update frame as announced chunks, without the test client's encoding (bad-input tests). */
function sendFrame(client: TestClient, task: TrainTask, frame: Uint8Array, extra: Partial<MessageOf<'update'>> = {}): string {
  const uploadId = `u${Math.random().toString(36).slice(2, 10)}`;
  const chunks = splitIntoChunks(frame, { uploadId });
  client.sendRaw(
    JSON.stringify({ v: 2, kind: 'update', taskId: task.taskId, roundId: task.roundId, uploadId, numExamples: 5, metrics: {}, sha256: '0'.repeat(64), byteLength: frame.byteLength, chunkCount: chunks.length, ...extra }),
  );
  for (const c of chunks) client.sendRaw(c);
  return uploadId;
}

async function sha(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(bytes).digest('hex');
}

describe('admission: what an update must pass before it is folded', () => {
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
    const { rounds } = await sessionRounds(server, { ...BY_EXAMPLES, rounds: 2, clientsRequired: 2 });
    expect(rounds.map((r) => r.status)).toEqual(['committed', 'committed']);
    expect(staleError).not.toBeNull();
    expect(rounds[1]!.updates).toBe(2);
    expect(rounds[1]!.weight).toBe(4);
    // Each round: seed + (1*1 + 3*2)/4 = +1.75 per round, so +3.5 after two rounds (the stale 1000s never count).
    expect([...(await fetchModelFlat(server.url, rounds[1]!.modelId!))]).toEqual(seedPlus(3.5));
    expect(a.connected).toBe(true);
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
      clients.huge!.sendRaw(JSON.stringify({ v: 2, kind: 'update', taskId: task.taskId, roundId: task.roundId, uploadId: 'big1', numExamples: 1, metrics: {}, sha256: 'a'.repeat(64), byteLength: 2 ** 31, chunkCount: 4096 }));
    });
    clients.chunk = await bad('chunk', async () => {
      clients.chunk!.sendRaw(new Uint8Array([1, 2, 3, 4, 5]));
    });
    clients.text = await bad('garbage-text', async () => {
      clients.text!.sendRaw('{"v":2,"kind":"update","nonsense":true');
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
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1));
    // The process is alive and every socket is still usable.
    expect((await api(server.url, '/api/status')).kind).toBe('status');
    expect(Object.values(clients).every((c) => c.connected)).toBe(true);
  });
});

describe('uploads that fail their SHA-256 check', () => {
  it('may be resent within the round, up to maxUploadAttempts; then the client is out (task.cancel, NOT_SELECTED)', async () => {
    const server = await setup({ combiner: { maxUploadAttempts: 3 } });
    const codes: ErrorCode[] = [];
    let cancelled = false;
    let hTask: TrainTask | null = null;
    let checked!: Promise<void>;
    const started = new Promise<void>((resolveStarted) => {
      checked = new Promise<void>((resolve, reject) => {
        void connect(server, {
          clientId: 'h',
          onTrain: async (task, ctx) => {
            if (hTask) return null;
            hTask = task;
            resolveStarted();
            try {
              const cancel = ctx.client.waitFor('task.cancel', (m) => m.taskId === task.taskId, 20_000);
              for (let i = 0; i < 3; i++) codes.push(await uploadForError(ctx.client, task, WRONG_HASH));
              await cancel;
              cancelled = true;
              // Out of the round: another bad one and even a good one are refused, neither is counted.
              codes.push(await uploadForError(ctx.client, task, WRONG_HASH));
              codes.push(await uploadForError(ctx.client, task, { ...ONES, delta: new Float32Array(6).fill(100) }));
              resolve();
            } catch (e) {
              reject(e as Error);
            }
            return null;
          },
        }).catch(reject);
      });
    });
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    // b answers only when the test says, so the round stays open while h is checked.
    const b = await connect(server, { clientId: 'b', onTrain: () => null });
    const s = await server.controller.startSession({ ...BY_EXAMPLES, rounds: 1, clientsRequired: 3, roundTimeoutMs: 30_000, encoding: 'f32' });
    await started;
    await checked;
    expect(codes).toEqual(['HASH_MISMATCH', 'HASH_MISMATCH', 'HASH_MISMATCH', 'NOT_SELECTED', 'NOT_SELECTED']);
    expect(cancelled).toBe(true);

    await sendHeldUpdate(b, TWOS);
    const { status, round: r } = await firstRoundWhenDone(server, s.id);
    expect(status).toBe('completed');
    expect(r.updates).toBe(2);
    expect(r.weight).toBe(4);
    expect(r.partials[0]!.refused).toBe(5);
    // a and b only: (1*1 + 3*2) / 4 = 1.75.
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1.75));
  });

  it('a client that keeps resending bad uploads does not hold the round open until its deadline', async () => {
    // Default limit (3). A one-minute deadline: the round can only end within the wait below because h's
    // retries are bounded and it is then not waited for.
    const server = await setup();
    const codes: ErrorCode[] = [];
    await connect(server, { clientId: 'a', onTrain: () => ONES });
    await connect(server, {
      clientId: 'h',
      onTrain: async (task, ctx) => {
        // An honest-looking retry loop: resend while the error says it is retryable.
        for (let i = 0; i < 50; i++) {
          const code = await uploadForError(ctx.client, task, WRONG_HASH).catch(() => 'TIMEOUT' as const);
          codes.push(code);
          if (code !== 'HASH_MISMATCH') break;
        }
        return null;
      },
    });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 60_000, encoding: 'f32' });
    const { status, round: r } = await firstRoundWhenDone(server, s.id, 20_000);
    expect(status).toBe('completed');
    expect(r.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(1));
    expect(codes.slice(0, 3)).toEqual(['HASH_MISMATCH', 'HASH_MISMATCH', 'HASH_MISMATCH']);
    expect(codes.filter((c) => c === 'HASH_MISMATCH')).toHaveLength(3);
  });

  it('does not reset the attempts when the client reconnects: no task again, uploads still refused', async () => {
    const server = await setup({ combiner: { maxUploadAttempts: 2 } });
    const tasks: TrainTask[] = [];
    const h = await connect(server, {
      clientId: 'h',
      onTrain: async (task, ctx) => {
        tasks.push(task);
        for (let i = 0; i < 2; i++) await uploadForError(ctx.client, task, WRONG_HASH);
        return null;
      },
    });
    const b = await connect(server, { clientId: 'b', onTrain: () => null });
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, roundTimeoutMs: 30_000, encoding: 'f32' });
    await h.waitFor('task.cancel', () => true, 20_000, true);
    const welcome = await reconnect(h);
    expect(welcome.openRoundId).toBeUndefined();
    expect(await uploadForError(h, tasks[0]!, ONES)).toBe('NOT_SELECTED');
    expect(tasks).toHaveLength(1);
    await sendHeldUpdate(b, TWOS);
    const { status, round: r } = await firstRoundWhenDone(server, s.id);
    expect(status).toBe('completed');
    expect(r.updates).toBe(1);
    expect([...(await fetchModelFlat(server.url, r.modelId!))]).toEqual(seedPlus(2));
  });
});

describe('one admission path for sync and async uploads', () => {
  it('refuses an oversized and an over-norm update of an async (FedBuff) task as in a sync round, and counts neither', async () => {
    const server = await setup();
    const codes = new Map<string, ErrorCode>();
    const refusedOnce = (id: string, send: (task: TrainTask, client: TestClient) => Promise<void>) =>
      connect(server, {
        clientId: id,
        onTrain: async (task, ctx) => {
          if (codes.has(id)) return null;
          const err = ctx.client.waitFor('error', () => true, 20_000);
          await send(task, ctx.client);
          codes.set(id, (await err).code);
          return null;
        },
      });
    await refusedOnce('huge', async (task, client) => {
      client.sendRaw(JSON.stringify({ v: 2, kind: 'update', taskId: task.taskId, roundId: task.roundId, uploadId: 'big1', numExamples: 1, metrics: {}, sha256: 'a'.repeat(64), byteLength: 2 ** 31, chunkCount: 4096 }));
    });
    // L2 norm of a delta of tens: sqrt(6) * 10 ~ 24.5, above the bound of 5.
    await refusedOnce('far', (task, client) => client.sendUpdate(task, { ...ONES, delta: new Float32Array(6).fill(10) }, LAYOUT));
    const small = await connect(server, { clientId: 'small', onTrain: () => null });
    const s = await server.controller.startSession({
      rounds: 1,
      encoding: 'f32',
      roundTimeoutMs: 60_000,
      maxUpdateNorm: 5,
      strategy: { name: 'fedbuff', options: { bufferSize: 1 } },
    });
    await until(() => codes.size === 2, 20_000, 'both refusals');
    expect(Object.fromEntries(codes)).toEqual({ huge: 'FRAME_TOO_LARGE', far: 'NORM_EXCEEDED' });
    await sendHeldUpdate(small, ONES);
    const { status, round } = await firstRoundWhenDone(server, s.id);
    expect(status).toBe('completed');
    expect(round.updates).toBe(1);
  });
});
