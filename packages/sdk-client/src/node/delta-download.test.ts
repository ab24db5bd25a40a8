/**
 * Delta downloads end to end (README "Delta downloads"): a real `startServer` with the MNIST MLP package and Node
 * FedClients training real rounds. Each round, every client's model must be bit for bit the reconstruction this
 * test rebuilds on its own from the model trail (seed, then `R_r = R_(r-1) + decode(int8(M_r - R_(r-1)))`), by
 * SHA-256 of the weights; after round 1 the clients download only deltas; a client without a base, or with one
 * the server no longer keeps, gets the full model. With prefetch (`model.prefetch`), each client holds the next
 * round's model before that round's task arrives, and the task downloads nothing more.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeModelDelta, fflateCompressor, flattenTensors, weightsSha256, type TensorSpec } from '@fedweb/codec';
import { startServer, type FedServer } from '@fedweb/server';
import { FedClient, type ModelEvent } from './index.js';
import { loadMnist } from '../../test/mnist.js';
import { MLP_DIR, nodeSuite, until } from './testing/suite.js';

const { root, cleanups } = await nodeSuite('fedweb-delta-');

async function model(server: FedServer, id: string): Promise<{ layout: TensorSpec[]; flat: Float32Array }> {
  const res = await fetch(`${server.url}/api/models/${encodeURIComponent(id)}`);
  const tensors = await decodeFrame(new Uint8Array(await res.arrayBuffer()));
  return { layout: tensors.map((t) => ({ name: t.name, shape: t.shape })), flat: flattenTensors(tensors) };
}

/** The reconstructions of a session, rebuilt here from the trail: index r = what round r+1 trains on. */
async function reconstructions(server: FedServer, sessionId: string): Promise<{ sha: string[]; maxError: number[] }> {
  const { session } = await server.controller.getSession(sessionId);
  const seed = await model(server, session.initialModelId);
  let recon: Float32Array = seed.flat.slice();
  const sha = [await weightsSha256(recon)];
  const maxError: number[] = [];
  for (const m of await server.controller.modelTrail(sessionId)) {
    const exact = await model(server, m.id);
    recon = (await encodeModelDelta(exact.flat, recon, exact.layout, { compressor: fflateCompressor })).recon;
    sha.push(await weightsSha256(recon));
    let e = 0;
    for (let i = 0; i < recon.length; i++) e = Math.max(e, Math.abs(recon[i]! - exact.flat[i]!));
    maxError.push(e);
  }
  return { sha, maxError };
}

const dataFor = (i: number) => () => {
  const train = loadMnist(200, i * 30);
  return { x: train.x, xShape: [784], y: train.y, yShape: [] };
};

function client(server: FedServer, id: string, cache: string | false, events: ModelEvent[]): FedClient {
  const c = new FedClient({ server: server.url, id, cache: cache === false ? false : join(root, cache), backend: 'cpu', data: { load: dataFor(id.length) }, logger: { warn: () => {} } });
  c.on('model', (e) => events.push(e));
  cleanups.push(() => c.stop());
  return c;
}

describe('delta downloads with Node clients', () => {
  it('clients rebuild the server reconstruction bit for bit each round from deltas; new and stale bases get the full model', async () => {
    const server = await startServer({ dataDir: join(root, 'server'), port: 0, host: '127.0.0.1', computePackage: { dir: MLP_DIR }, logger: false, heartbeatMs: 2000, waitPollMs: 100 });
    cleanups.push(() => server.close());
    const f32Bytes = 4 * (784 * 128 + 128 + 128 * 10 + 10);
    const a: ModelEvent[] = [];
    const b: ModelEvent[] = [];
    const clients = [client(server, 'node-a', 'a', a), client(server, 'node-b', 'b', b)];
    await Promise.all(clients.map((c) => c.start()));
    await until(() => (server.registry.list()[0]?.clients.size ?? 0) === 2, 20_000, 'both clients online');

    const s1 = await server.controller.startSession({ rounds: 3, roundTimeoutMs: 120_000, learningRate: 0.1, batchSize: 32, encoding: 'int8' });
    expect((await server.controller.waitForSession(s1.id, ['completed', 'failed', 'stopped'], 200_000)).status).toBe('completed');
    const r1 = await reconstructions(server, s1.id);
    for (const events of [a, b]) {
      expect(events.map((e) => e.via)).toEqual(['full', 'delta', 'delta']);
      // Bit for bit: each round's model is the reconstruction rebuilt here from the trail.
      expect(events.map((e) => e.weightsSha256)).toEqual(r1.sha.slice(0, 3));
      for (const e of events.slice(1)) expect(e.bytes).toBeLessThan(0.3 * f32Bytes);
    }
    // The reconstruction stays within an int8 step of the exact model (no drift): steps here are ~1e-3.
    for (const e of r1.maxError) expect(e).toBeLessThan(0.01);

    // A new session from the last model opens a new stream at it: the clients' base (round 3's reconstruction)
    // is not the server's, so they get the full model; a client with no cache at all too; then deltas again.
    await clients[1]!.stop();
    const c: ModelEvent[] = [];
    const fresh = client(server, 'node-c', false, c);
    await fresh.start();
    await until(() => (server.registry.list()[0]?.clients.size ?? 0) === 2, 20_000, 'a and c online');
    const last = (await server.controller.modelTrail(s1.id)).at(-1)!;
    const s2 = await server.controller.startSession({ rounds: 2, roundTimeoutMs: 120_000, learningRate: 0.1, initialModelId: last.id, encoding: 'int8' });
    expect((await server.controller.waitForSession(s2.id, ['completed', 'failed', 'stopped'], 200_000)).status).toBe('completed');
    const r2 = await reconstructions(server, s2.id);
    for (const events of [a.slice(3), c]) {
      expect(events.map((e) => e.via)).toEqual(['full', 'delta']);
      expect(events.map((e) => e.weightsSha256)).toEqual(r2.sha.slice(0, 2));
    }
  }, 300_000);

  it('every client prefetches the next model when a round commits: held before the task, no second download', async () => {
    const server = await startServer({ dataDir: join(root, 'server-prefetch'), port: 0, host: '127.0.0.1', computePackage: { dir: MLP_DIR }, logger: false, heartbeatMs: 2000, waitPollMs: 100 });
    cleanups.push(() => server.close());
    let blobRequests = 0;
    server.app.server.on('request', (req: { url?: string }) => void (req.url?.startsWith('/api/blobs/') && blobRequests++));
    // Per client, in order: each model event, and each train task as it arrives (`started`, before its model).
    const logs = new Map<string, string[]>();
    const joinAs = (id: string): FedClient => {
      const log = logs.get(id) ?? [];
      logs.set(id, log);
      const c = client(server, id, `prefetch-${id}`, []);
      c.on('model', (e) => log.push(`model ${e.via} ${e.prefetch ? 'prefetch' : 'task'} ${e.weightsSha256}`));
      c.on('round', (e) => e.task === 'train' && e.phase === 'started' && log.push('task'));
      return c;
    };
    const online = (n: number) => until(() => (server.registry.list()[0]?.clients.size ?? 0) === n, 20_000, `${n} clients online`);
    const c = joinAs('pre-c');
    await Promise.all([joinAs('pre-a'), joinAs('pre-b'), c].map((x) => x.start()));
    await online(3);
    // Every round needs all three. c leaves once it trained round 1, so round 2 waits for it: c comes back only once
    // a and b hold round 2's model, which makes "held before the task" certain rather than a race with round 2.
    const s = await server.controller.startSession({ rounds: 3, clientsRequired: 3, roundTimeoutMs: 120_000, learningRate: 0.1, batchSize: 32, encoding: 'int8' });
    await until(() => logs.get('pre-c')!.length === 2, 60_000, 'c trained round 1');
    await c.stop();
    const prefetched = (id: string) => logs.get(id)!.some((l) => l.includes('prefetch'));
    await until(() => prefetched('pre-a') && prefetched('pre-b'), 60_000, 'a and b prefetched round 2');
    await joinAs('pre-c').start();
    expect((await server.controller.waitForSession(s.id, ['completed', 'failed', 'stopped'], 200_000)).status).toBe('completed');
    const { sha } = await reconstructions(server, s.id);
    for (const id of ['pre-a', 'pre-b']) {
      const log = logs.get(id)!;
      // Round 1's task downloads the model in full; round 2's task finds the delta-rebuilt model already held (the
      // prefetch after round 1 committed), and so does round 3's (its prefetch may still run when the task comes:
      // the task waits for it); nothing is prefetched after the last round.
      expect(log.slice(0, 4)).toEqual(['task', `model full task ${sha[0]}`, `model delta prefetch ${sha[1]}`, 'task']);
      expect(log.slice(4).sort()).toEqual([`model delta prefetch ${sha[2]}`, 'task']);
    }
    // c was away when round 2's model was announced: its task rebuilt it from the delta; round 3's it prefetched.
    expect(logs.get('pre-c')!.slice(0, 4)).toEqual(['task', `model full task ${sha[0]}`, 'task', `model delta task ${sha[1]}`]);
    expect(logs.get('pre-c')!.slice(4).sort()).toEqual([`model delta prefetch ${sha[2]}`, 'task']);
    // One blob per client per round (round 1's full model, then two deltas): no task downloaded a model twice.
    expect(blobRequests).toBe(3 * 3);
  }, 300_000);
});
