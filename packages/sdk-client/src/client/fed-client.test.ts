/**
 * FedClient's protocol against an in-process fake combiner (real HTTP + `ws` sockets, codec-validated messages,
 * codec chunk reassembly) and a scripted trainer. The real server and trainers are exercised by the Node
 * integration test and the browser tests. The harness lives in testing/harness.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fedError, sha256Hex, type FedError } from '@fedweb/codec';
import { FedClientCore } from './fed-client.js';
import { fakeUpdate } from './testing/fake-trainer.js';
import { cleanups, dataset, harness, joinedClient, record, reloadedBeforeAck, runCleanups, testPlatform } from './testing/harness.js';
import type { FedPlatform } from './types.js';

afterEach(runCleanups);
describe('FedClient joining', () => {
  it('discovers the combiner, says hello with its capabilities, and sends heartbeats', async () => {
    const { h, client, ev } = await joinedClient({ heartbeatMs: 100 });
    expect(client.status).toBe('connected');
    expect(h.server.discoverCount).toBe(1);
    const hello = h.server.hellos[0]!;
    expect(hello.clientId).toBe(client.clientId);
    expect(hello.capabilities).toMatchObject({ platform: 'node', hardwareConcurrency: 2, visible: true });
    expect(hello.sdkVersion).toBe('0.1.0');
    const hb = await h.server.next('heartbeat');
    expect(hb.capabilities?.platform).toBe('node');
    // The generated id is kept, so a reload is the same client.
    expect(await h.cache.getClientId()).toBe(client.clientId);
    expect(ev.log.status.map((s) => s.status)).toEqual(['starting', 'connecting', 'connected']);
    expect(h.server.problems).toEqual([]);
  });

  it('keeps the client id across restarts on the same cache', async () => {
    const h = await harness();
    const a = await h.joined();
    await a.client.stop();
    const b = await h.joined();
    expect(b.client.clientId).toBe(a.client.clientId);
    expect(h.server.hellos.map((x) => x.clientId)).toEqual([a.client.clientId, a.client.clientId]);
  });

  it('retries an unavailable server with backoff, then joins', async () => {
    const h = await harness();
    let n = 0;
    h.server.discoverReply = () => (++n <= 2 ? { status: 503, body: { code: 'UNAVAILABLE', message: 'starting' } } : { status: 200, body: { combinerId: 'comb-1', url: '/ws/client' } });
    const { client, ev } = h.client();
    await client.start();
    expect(h.server.discoverCount).toBe(3);
    const retries = ev.log.status.filter((s) => s.status === 'reconnecting' && s.retryInMs !== undefined);
    expect(retries).toHaveLength(2);
    expect(retries[0]!.error?.code).toBe('UNAVAILABLE');
  });

  it('fails for good when discovery says UNAUTHORIZED: start() rejects and no retry follows', async () => {
    const h = await harness();
    h.server.discoverReply = () => ({ status: 401, body: { code: 'UNAUTHORIZED', message: 'token expired' } });
    const { client, ev } = h.client({ token: 'old' });
    const err = (await client.start().catch((e) => e)) as FedError;
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).toMatch(/token/);
    await ev.wait('status', (s) => s.status === 'failed');
    await new Promise((r) => setTimeout(r, 150));
    expect(h.server.discoverCount).toBe(1);
  });

  it('fails for good when the combiner answers hello with an UNAUTHORIZED error', async () => {
    const h = await harness();
    h.server.autoWelcome = false;
    const { client } = h.client();
    const started = client.start().catch((e) => e);
    const hello = await h.server.next('hello');
    h.server.send({ v: 2, kind: 'error', code: 'UNAUTHORIZED', message: 'invalid token', ref: hello.clientId });
    expect(((await started) as FedError).code).toBe('UNAUTHORIZED');
  });

  it('runs on a memory cache, with a warning, when persistent storage is unavailable (private mode)', async () => {
    const h = await harness();
    const warnings: string[] = [];
    const platform: FedPlatform = { ...testPlatform, openCache: async () => Promise.reject(fedError('STORAGE', 'IndexedDB is not available')) };
    const client = new FedClientCore({ server: h.server.url, data: { load: dataset }, trainer: h.trainers.factory, logger: { warn: (m) => warnings.push(m) } }, platform);
    cleanups.push(() => client.stop());
    const ev = record(client);
    await client.start();
    expect(warnings.join('\n')).toMatch(/cache is unavailable, using memory/);
    expect(ev.log.status.at(-1)).toMatchObject({ status: 'connected', cache: 'memory' });
    h.server.send(h.validate('r1'));
    expect((await h.server.next('validation')).roundId).toBe('r1');
  });

  it('sends the token to discovery and in hello', async () => {
    const { h } = await joinedClient({}, { token: async () => 'jwt-abc' });
    expect(h.server.hellos[0]!.token).toBe('jwt-abc');
  });
});

describe('FedClient training rounds', () => {
  it('trains a task, uploads the update in chunks, and clears it once acknowledged', async () => {
    // 2.5 MiB update: three 1 MiB chunks.
    const { h, client, ev } = await joinedClient({ updateBytes: 2.5 * 1024 * 1024 });
    h.server.send(h.task('r1'));
    const upd = await h.server.next('update');
    const frame = await h.server.nextFrame(upd.uploadId);
    expect(upd).toMatchObject({ taskId: 't-r1', roundId: 'r1', numExamples: 4, metrics: { loss: 1, accuracy: 0.5 }, chunkCount: 3, byteLength: frame.length });
    expect(await sha256Hex(frame)).toBe(upd.sha256);
    // Buffer.equals: vitest's deep equality is far too slow on megabytes.
    expect(Buffer.from(frame).equals(Buffer.from(fakeUpdate(h.modelBytes, 'r1', 2.5 * 1024 * 1024)))).toBe(true);
    // The trainer got the verified model and package, and the page's data.
    expect(h.trainers.trainRequests[0]!.model).toEqual(h.modelBytes);
    expect(h.trainers.trainRequests[0]!.settings).toMatchObject({ localEpochs: 1, batchSize: 2, encoding: 'int8' });
    expect(h.trainers.calls.slice(0, 4)).toEqual(['init:auto', expect.stringMatching(/^loadPackage:/), 'setData:4', 'train:r1']);
    expect((await h.cache.getPendingUpdate(client.clientId!))?.uploadId).toBe(upd.uploadId);
    h.ack(upd);
    await ev.wait('round', (r) => r.phase === 'acknowledged');
    expect(await h.cache.getPendingUpdate(client.clientId!)).toBeUndefined();
    expect(await h.cache.getPendingTask(client.clientId!)).toBeUndefined();
    expect(ev.log.round.map((r) => r.phase)).toEqual(['started', 'trained', 'uploaded', 'acknowledged']);
    expect(ev.log.progress.map((p) => p.loss)).toEqual([1.5, 1.0]);
    expect(ev.log.metrics[0]).toMatchObject({ task: 'train', roundId: 'r1', numExamples: 4 });
    expect(client.backend).toMatchObject({ chosen: 'cpu', cached: false });
    expect(h.server.problems).toEqual([]);
  });

  it('reports the chosen backend and why the others lost in heartbeats', async () => {
    const { h, ev } = await joinedClient({ heartbeatMs: 100 });
    h.server.send(h.task('r1'));
    await ev.wait('round', (r) => r.phase === 'uploaded');
    const hb = await h.server.next('heartbeat', (m) => m.capabilities?.backend !== undefined);
    expect(hb.capabilities).toMatchObject({ backend: 'cpu', backendReport: { cpu: '900 ex/s', wasm: 'missing kernel Conv2DBackpropFilter' } });
  });

  it('refuses a model whose SHA-256 differs (HASH_MISMATCH), tells the combiner, and never trains on it', async () => {
    const { h, client, ev } = await joinedClient();
    const t = h.task('r1');
    h.server.blobs.set('/api/models/m1', new Uint8Array([9, 9, 9]));
    h.server.send(t);
    const err = await ev.wait('error');
    expect(err.code).toBe('HASH_MISMATCH');
    expect(err.message).toMatch(/refusing to use it/);
    const wire = await h.server.next('error');
    expect(wire).toMatchObject({ code: 'HASH_MISMATCH', ref: 't-r1' });
    expect((await ev.wait('round', (r) => r.phase === 'failed')).error?.code).toBe('HASH_MISMATCH');
    expect(h.trainers.calls.some((c) => c.startsWith('train'))).toBe(false);
    // A failed task is over: it is not resumed after a reload.
    expect(await h.cache.getPendingTask(client.clientId!)).toBeUndefined();
  });

  it('refuses a tampered compute package with PACKAGE_INVALID before loading it', async () => {
    const { h, ev } = await joinedClient();
    const t = h.task('r1');
    h.server.blobs.set(t.package.url, new TextEncoder().encode('fetch("https://evil.example")'));
    h.server.send(t);
    expect((await ev.wait('error')).code).toBe('PACKAGE_INVALID');
    expect(h.trainers.calls.some((c) => c.startsWith('loadPackage'))).toBe(false);
  });

  it('turns bad messages into error events without dropping the connection', async () => {
    const { h, ev } = await joinedClient();
    h.server.sendRaw('not json');
    h.server.sendRaw(JSON.stringify({ v: 2, kind: 'task.train', taskId: 'x' }));
    h.server.sendRaw(JSON.stringify({ v: 3, kind: 'welcome' }));
    h.server.sendRaw(new Uint8Array([1, 2, 3]));
    h.server.send(h.validate('r1'));
    const val = await h.server.next('validation');
    expect(val).toMatchObject({ taskId: 'v-r1', roundId: 'r1', numExamples: 4, metrics: { loss: 0.7, accuracy: 0.8 } });
    expect(ev.log.error.map((e) => e.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE', 'VERSION_MISMATCH', 'BAD_MESSAGE']);
    expect(h.server.discoverCount).toBe(1);
  });

  it('task.cancel aborts training through the trainer, and no update is sent', async () => {
    const { h, client, ev } = await joinedClient();
    await h.holdTraining('r1');
    h.server.send({ v: 2, kind: 'task.cancel', taskId: 't-r1', roundId: 'r1', reason: 'round closed' });
    const cancelled = await ev.wait('round', (r) => r.phase === 'cancelled');
    expect(cancelled.error?.message).toMatch(/round closed/);
    // The task queue moves on: a validation after the cancel is answered, and no update came before it.
    h.server.send(h.validate('r1'));
    await h.server.next('validation');
    expect(h.server.pendingKinds()).not.toContain('update');
    expect(h.trainers.calls).toContain('abort');
    expect(await h.cache.getPendingTask(client.clientId!)).toBeUndefined();
  });

  it('answers task.validate with a validation message', async () => {
    const { h, ev } = await joinedClient();
    h.server.send(h.validate('r3'));
    expect(await h.server.next('validation')).toMatchObject({ roundId: 'r3', numExamples: 4, metrics: { accuracy: 0.8 } });
    expect((await ev.wait('metrics')).task).toBe('validate');
    expect(h.trainers.calls).toContain(`validate:${h.modelBytes.length}`);
  });

  it('drops an update the combiner refuses as STALE_ROUND (its decision is final)', async () => {
    const { h, client, ev } = await joinedClient();
    const upd = await h.uploaded('r1');
    h.server.send({ v: 2, kind: 'error', code: 'STALE_ROUND', message: 'round r1 is closed', ref: upd.uploadId });
    const refused = await ev.wait('round', (r) => r.phase === 'refused');
    expect(refused.error?.code).toBe('STALE_ROUND');
    expect(await h.cache.getPendingUpdate(client.clientId!)).toBeUndefined();
    await ev.wait('status', (s) => s.status === 'connected' && ev.log.status.indexOf(s) > ev.log.status.findIndex((x) => x.status === 'uploading'));
  });

  it('retries a retryable refusal (BAD_CHUNK) with the same upload id', async () => {
    const { h, ev } = await joinedClient();
    const u1 = await h.uploaded('r1');
    h.server.send({ v: 2, kind: 'error', code: 'BAD_CHUNK', message: 'chunk 0 missing', ref: u1.uploadId });
    const u2 = await h.server.next('update');
    expect(u2.uploadId).toBe(u1.uploadId);
    await h.server.nextFrame(u2.uploadId);
    h.ack(u2);
    await ev.wait('round', (r) => r.phase === 'acknowledged');
  });

  it('re-sent task for a round in progress does not train twice', async () => {
    const { h, ev } = await joinedClient();
    await h.holdTraining('r1');
    h.server.send(h.task('r1', { taskId: 't-r1-again' }));
    await h.handled(ev); // the re-sent task reached the client before training ends
    h.trainers.release();
    const upd = await h.server.next('update');
    expect(upd.taskId).toBe('t-r1-again');
    expect(h.trainers.calls.filter((c) => c === 'train:r1')).toHaveLength(1);
  });
});

describe('FedClient resilience', () => {
  it('after a network cut, re-discovers, reconnects and resends the unacknowledged update if its round is open', async () => {
    const { h, ev } = await joinedClient();
    const u1 = await h.uploaded('r1');
    h.server.openRoundId = 'r1';
    h.server.dropAll();
    const u2 = await h.server.next('update');
    expect(u2.uploadId).toBe(u1.uploadId);
    expect(await h.server.nextFrame(u2.uploadId)).toEqual(fakeUpdate(h.modelBytes, 'r1', 64));
    expect(h.server.discoverCount).toBe(2);
    h.ack(u2);
    await ev.wait('round', (r) => r.phase === 'acknowledged');
    expect(h.trainers.calls.filter((c) => c.startsWith('train:'))).toHaveLength(1);
    expect(ev.log.status.some((s) => s.status === 'reconnecting')).toBe(true);
  });

  it('a reloaded client (same cache) uploads the pending update when welcome says the round is open', async () => {
    const { h, a, u1 } = await reloadedBeforeAck();
    expect((await h.cache.getPendingUpdate(a.client.clientId!))?.uploadId).toBe(u1.uploadId);

    h.server.openRoundId = 'r1';
    const b = await h.joined();
    const u2 = await h.server.next('update');
    expect(u2).toMatchObject({ uploadId: u1.uploadId, roundId: 'r1', sha256: u1.sha256 });
    await h.server.nextFrame(u2.uploadId);
    h.ack(u2);
    await b.ev.wait('round', (r) => r.phase === 'acknowledged');
    expect(b.ev.log.round[0]).toMatchObject({ phase: 'resumed', roundId: 'r1' });
    expect(h.trainers.calls.filter((c) => c.startsWith('train:'))).toHaveLength(1);
  });

  it('a reloaded client that resumes its pending upload goes back to connected once it is acknowledged', async () => {
    const { h } = await reloadedBeforeAck();

    h.server.openRoundId = 'r1';
    const b = await h.joined();
    h.server.send(h.task('r1')); // as the combiner does after a welcome with openRoundId
    const u2 = await h.server.next('update');
    await h.server.nextFrame(u2.uploadId);
    h.ack(u2);
    await b.ev.wait('round', (r) => r.phase === 'acknowledged');
    const uploading = () => b.ev.log.status.findIndex((s) => s.status === 'uploading');
    await b.ev.wait('status', (s) => s.status === 'connected' && b.ev.log.status.indexOf(s) > uploading());
    expect(b.client.status).toBe('connected');
    expect(b.ev.log.round.map((r) => r.phase)).toEqual(['resumed', 'uploaded', 'acknowledged']);
    expect(h.trainers.calls.filter((c) => c.startsWith('train:'))).toHaveLength(1);
    expect(h.server.pendingKinds()).not.toContain('update');
  });

  it('a reloaded client whose update the combiner already counted reports it acknowledged, without uploading it again', async () => {
    const { h, u1 } = await reloadedBeforeAck();
    h.server.openRoundId = undefined;
    h.server.countedRoundId = 'r1'; // the ack was lost in the cut, the update is in the sum
    const b = await h.joined();
    const acked = await b.ev.wait('round', (r) => r.phase === 'acknowledged');
    expect(acked).toMatchObject({ roundId: 'r1', taskId: u1.taskId });
    expect(await h.cache.getPendingUpdate(b.client.clientId!)).toBeUndefined();
    expect(h.server.pendingKinds()).not.toContain('update');
    expect(b.ev.log.round.map((r) => r.phase)).toEqual(['acknowledged']);
  });

  it('a reloaded client drops the pending update when the round has closed', async () => {
    const { h } = await reloadedBeforeAck();
    h.server.openRoundId = undefined;
    const b = await h.joined();
    h.server.send(h.validate('r2')); // a later message proves the client processed its welcome
    await h.server.next('validation');
    expect(await h.cache.getPendingUpdate(b.client.clientId!)).toBeUndefined();
    expect(h.server.pendingKinds()).not.toContain('update');
  });

  it('a reload mid-training resumes the round from the cached task, and nothing is downloaded again', async () => {
    const h = await harness();
    const a = await h.joined();
    await h.holdTraining('r1');
    await a.client.stop(); // reload while training
    const blobGets = () => h.server.requests.filter((r) => r === 'GET /api/models/m1' || /^GET \/api\/packages\/[0-9a-f]{64}$/.test(r)).length;
    const downloads = blobGets();
    expect(downloads).toBe(2); // the model and the package

    h.trainers.hold = false;
    h.server.openRoundId = 'r1';
    const b = await h.joined(); // the server does not resend the task: the client resumes it on its own
    const upd = await h.server.next('update');
    expect(upd.roundId).toBe('r1');
    expect(b.ev.log.round.map((r) => r.phase).slice(0, 2)).toEqual(['resumed', 'started']);
    expect(blobGets()).toBe(downloads);
  });

  it('a reload mid-training with the task re-sent by the combiner trains once and says resumed once', async () => {
    const h = await harness();
    const a = await h.joined();
    await h.holdTraining('r1');
    await a.client.stop();
    h.trainers.hold = false;
    h.server.openRoundId = 'r1';
    const b = await h.joined();
    h.server.send(h.task('r1')); // as the combiner does after a welcome with openRoundId
    h.ack(await h.server.next('update'));
    await b.ev.wait('round', (r) => r.phase === 'acknowledged');
    expect(b.ev.log.round.map((r) => r.phase)).toEqual(['resumed', 'started', 'trained', 'uploaded', 'acknowledged']);
    expect(h.trainers.calls.filter((c) => c === 'train:r1')).toHaveLength(2); // once before the reload (held), once after
    expect(await h.cache.getPendingTask(b.client.clientId!)).toBeUndefined();
  });

  it('when the trainer dies mid-training it is restarted (data and package reloaded) and the task completes', async () => {
    const { h, ev } = await joinedClient();
    h.trainers.failNextTrain = 'WORKER_DIED';
    h.server.send(h.task('r1'));
    const upd = await h.server.next('update');
    expect(upd.roundId).toBe('r1');
    expect(h.trainers.factoryCalls).toBe(2);
    expect(h.trainers.handles[0]!.terminated).toBe(true);
    expect(h.trainers.datasets).toEqual([4, 4]);
    expect(h.trainers.calls.filter((c) => c.startsWith('loadPackage'))).toHaveLength(2);
    expect(ev.log.error.map((e) => e.code)).toContain('WORKER_DIED');
  });

  it('a trainer that dies between tasks is replaced before the next one', async () => {
    const { h } = await joinedClient();
    h.server.send(h.validate('r1'));
    await h.server.next('validation');
    // Kill the first trainer as a crashed worker would.
    const first = h.trainers.handles[0]!;
    first.terminated = true;
    h.server.send(h.validate('r2'));
    // The fake's calls now fail with WORKER_DIED; the client restarts it and answers.
    expect((await h.server.next('validation')).roundId).toBe('r2');
    expect(h.trainers.factoryCalls).toBe(2);
  });

  it('auto backend: the decision is cached per package and device, so the next start does not probe', async () => {
    const h = await harness();
    const a = await h.joined();
    h.server.send(h.validate('r1'));
    await h.server.next('validation');
    await a.client.stop();
    const b = await h.joined();
    h.server.send(h.validate('r2'));
    await h.server.next('validation');
    expect(h.trainers.calls.filter((c) => c.startsWith('init:'))).toEqual(['init:auto', 'init:cpu']);
    expect(b.client.backend).toMatchObject({ chosen: 'cpu', cached: true, candidates: { wasm: 'missing kernel Conv2DBackpropFilter' } });
  });

  it('stop() aborts training, closes the socket and terminates the trainer', async () => {
    const { h, client, ev } = await joinedClient();
    await h.holdTraining('r1');
    await client.stop();
    expect(client.status).toBe('stopped');
    expect(h.trainers.calls).toContain('abort');
    expect(h.trainers.handles[0]!.terminated).toBe(true);
    await h.server.socketsClosed();
    expect(h.server.sockets.size).toBe(0);
    expect(ev.log.round.some((r) => r.phase === 'failed')).toBe(false);
    await client.stop(); // idempotent
  });

  it('an aborted options.signal stops the client', async () => {
    const h = await harness();
    const ctl = new AbortController();
    const { client, ev } = h.client({ signal: ctl.signal });
    await client.start();
    ctl.abort();
    await ev.wait('status', (s) => s.status === 'stopped');
  });
});
