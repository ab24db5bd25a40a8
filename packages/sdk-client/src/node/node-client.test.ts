/**
 * Node integration: a real `startServer` (controller + embedded combiner, SQLite, HTTP, WebSocket) with the MNIST
 * MLP example package, and two Node FedClients training on real MNIST digits with the in-process tfjs trainer.
 * Two rounds must commit, each folding both clients' updates, and the model trail must advance.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, flattenTensors } from '@fedweb/codec';
import { issueToken, startServer, type FedServer } from '@fedweb/server';
import { FedClient, FedClientCore, nodePlatform, type RoundEvent, type MetricsEvent } from './index.js';
import { loadMnist } from '../../test/mnist.js';
import { MLP_DIR, testRoot, until } from './testing/fixture.js';

const { root, cleanups } = await testRoot('fedweb-node-client-');

async function modelFlat(server: FedServer, id: string): Promise<Float32Array> {
  const res = await fetch(`${server.url}/api/models/${encodeURIComponent(id)}`);
  return flattenTensors(await decodeFrame(new Uint8Array(await res.arrayBuffer())));
}

const dataFor = (i: number) => () => {
  // Disjoint shards of real digits: 300 training examples each, plus 100 held out for validation.
  const train = loadMnist(300, i * 30);
  const test = loadMnist(100, 600 + i * 10);
  return { x: train.x, xShape: [784], y: train.y, yShape: [], validation: { x: test.x, y: test.y } };
};

let shared: { server: FedServer; lastModelId: string; clients: FedClient[] } | undefined;

describe('Node FedClient against a real fedweb server', () => {
  it('two Node clients train two real MNIST rounds; both updates are folded each round and the trail advances', async () => {
    const server = await startServer({
      dataDir: join(root, 'server'),
      port: 0,
      host: '127.0.0.1',
      computePackage: { dir: MLP_DIR },
      logger: false,
      heartbeatMs: 2000,
      waitPollMs: 100,
    });
    cleanups.push(() => server.close());

    const rounds: RoundEvent[][] = [[], []];
    const metrics: MetricsEvent[][] = [[], []];
    const errors: string[] = [];
    const clients = [0, 1].map((i) => {
      const c = new FedClient({
        server: server.url,
        id: `node-${i}`,
        cache: join(root, `client-${i}`),
        backend: 'auto',
        data: { load: dataFor(i) },
        logger: { warn: () => {} },
      });
      c.on('round', (r) => rounds[i]!.push(r));
      c.on('metrics', (m) => metrics[i]!.push(m));
      c.on('error', (e) => errors.push(`${i}: ${e.code} ${e.message}`));
      cleanups.push(() => c.stop());
      return c;
    });
    await Promise.all(clients.map((c) => c.start()));
    await until(() => (server.registry.list()[0]?.clients.size ?? 0) === 2, 20_000, 'both clients online at the combiner');

    const session = await server.controller.startSession({ rounds: 2, roundTimeoutMs: 120_000, learningRate: 0.1, batchSize: 32, validate: true, encoding: 'int8' });
    const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 280_000);
    expect(errors).toEqual([]);
    expect(done.status).toBe('completed');

    const detail = await server.controller.getSession(session.id);
    // Round 1 weighs each update 1 (no claims to cap against yet), round 2 by its 300 examples (server README "Threat model").
    expect(detail.rounds.map((r) => [r.status, r.updates, r.weight])).toEqual([
      ['committed', 2, 2],
      ['committed', 2, 600],
    ]);
    // The trail: seed -> round 1 model -> round 2 model, each with its parent.
    const trail = await server.controller.modelTrail(session.id);
    expect(trail).toHaveLength(2);
    expect(trail[0]!.parentId).toBe(session.initialModelId);
    expect(trail[1]!.parentId).toBe(trail[0]!.id);
    const seed = await modelFlat(server, session.initialModelId!);
    const last = await modelFlat(server, trail[1]!.id);
    expect(last.length).toBe(784 * 128 + 128 + 128 * 10 + 10);
    let changed = 0;
    for (let k = 0; k < seed.length; k++) if (seed[k] !== last[k]) changed++;
    expect(changed).toBeGreaterThan(seed.length / 2);

    for (const i of [0, 1]) {
      const m = metrics[i]!.map((x) => `${x.task} loss ${x.metrics['loss']?.toFixed(3)} acc ${x.metrics['accuracy']?.toFixed(3)}`);
      console.log(`[node] client ${i} (${clients[i]!.backend?.chosen} ${JSON.stringify(clients[i]!.backend?.candidates)}): ${m.join('; ')}`);
      expect(rounds[i]!.filter((r) => r.task === 'train' && r.phase === 'acknowledged')).toHaveLength(2);
      const train = metrics[i]!.filter((m) => m.task === 'train');
      expect(train.map((m) => m.numExamples)).toEqual([300, 300]);
      // Learning happened: round 2 starts from a better global model, so its mean training loss is lower.
      expect(train[1]!.metrics['loss']!).toBeLessThan(train[0]!.metrics['loss']!);
      const val = metrics[i]!.filter((m) => m.task === 'validate');
      expect(val.length).toBeGreaterThanOrEqual(1);
      // Held-out digits: far above chance (0.1) after two rounds.
      expect(val.at(-1)!.metrics['accuracy']!).toBeGreaterThan(0.5);
      expect(clients[i]!.backend?.chosen).toMatch(/^(wasm|cpu)$/);
    }
    shared = { server, lastModelId: trail[1]!.id, clients };
  });

  it('a restarted Node client takes the package, the model and its backend decision from the file cache', async () => {
    if (!shared) throw new Error('needs the previous test');
    const { server, lastModelId, clients } = shared;
    await Promise.all(clients.map((c) => c.stop()));
    const fetched: string[] = [];
    const client = new FedClientCore(
      { server: server.url, id: 'node-0', cache: join(root, 'client-0'), data: { load: dataFor(0) }, logger: { warn: () => {} } },
      { ...nodePlatform, fetch: (url, init) => (fetched.push(url), globalThis.fetch(url, init)) },
    );
    cleanups.push(() => client.stop());
    const acked = new Promise<void>((r) => client.on('round', (e) => e.phase === 'acknowledged' && r()));
    await client.start();
    await until(() => (server.registry.list()[0]?.clients.size ?? 0) === 1, 20_000, 'the client online');
    // Continue from the last model of the trail: the client validated it last, so it is the one in its cache.
    const session = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 120_000, initialModelId: lastModelId, learningRate: 0.1 });
    const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 120_000);
    await acked;
    expect(done.status).toBe('completed');
    expect(fetched.some((u) => u.endsWith('/api/discover'))).toBe(true); // the counting fetch is the one in use
    expect(fetched.filter((u) => u.includes('/api/models/') || /\/api\/packages\/[0-9a-f]{64}/.test(u))).toEqual([]);
    expect(client.backend).toMatchObject({ cached: true });
  });

  it('with auth on: a client token for this id trains; a token for another id is refused for good (FORBIDDEN/UNAUTHORIZED)', async () => {
    if (shared) await Promise.all(shared.clients.map((c) => c.stop()));
    const secret = 'a-test-secret-of-enough-length';
    const server = await startServer({ dataDir: join(root, 'auth-server'), port: 0, host: '127.0.0.1', secret, computePackage: { dir: MLP_DIR }, logger: false, waitPollMs: 100 });
    cleanups.push(() => server.close());
    const good = new FedClient({
      server: server.url,
      id: 'kiosk-1',
      token: () => issueToken({ secret, role: 'client', sub: 'kiosk-1' }),
      cache: join(root, 'auth-client'),
      data: { load: dataFor(0) },
      logger: { warn: () => {} },
    });
    cleanups.push(() => good.stop());
    await good.start();
    await until(() => (server.registry.list()[0]?.clients.size ?? 0) === 1, 20_000, 'the client online');
    const session = await server.controller.startSession({ rounds: 1, roundTimeoutMs: 120_000, learningRate: 0.1 });
    const done = await server.controller.waitForSession(session.id, ['completed', 'failed', 'stopped'], 120_000);
    expect(done.status).toBe('completed');
    expect((await server.controller.getSession(session.id)).rounds[0]).toMatchObject({ status: 'committed', updates: 1 });

    const impostor = new FedClient({
      server: server.url,
      id: 'kiosk-2',
      token: await issueToken({ secret, role: 'client', sub: 'kiosk-1' }),
      cache: false,
      data: { load: dataFor(1) },
      logger: { warn: () => {} },
    });
    cleanups.push(() => impostor.stop());
    const err = (await impostor.start().catch((e) => e)) as { code: string };
    expect(['FORBIDDEN', 'UNAUTHORIZED']).toContain(err.code);
    expect(impostor.status).toBe('failed');
  });
});
