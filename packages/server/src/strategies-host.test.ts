import { describe, expect, it } from 'vitest';
import { decodeFrame, flattenTensors, type BlobRef } from '@fedweb/codec';
import { BY_EXAMPLES, ONES, SEED, TWOS } from '../test/tiny-session.js';
import { serverFixture } from '../test/fixture.js';
import { startServer, type FedServer } from './server.js';
import { fetchModelFlat, tempDir, until } from './testing/harness.js';
import { makeTestPackage } from './testing/package.js';
import type { TestClient, TestClientOptions, TestUpdate } from './testing/test-client.js';


const f = serverFixture(SEED);

function connect(server: FedServer | string, clientId: string, onTrain: NonNullable<TestClientOptions['onTrain']>): Promise<TestClient> {
  return f.connect(server, { clientId, onTrain });
}

async function blobFlat(baseUrl: string, ref: BlobRef): Promise<{ names: string[]; flat: number[] }> {
  const res = await fetch(new URL(ref.url, baseUrl));
  const tensors = await decodeFrame(new Uint8Array(await res.arrayBuffer()));
  return { names: tensors.map((t) => t.name), flat: [...flattenTensors(tensors)] };
}

describe('strategies through the server', () => {
  it('refuses updates above maxUpdateNorm with NORM_EXCEEDED', async () => {
    const t = await f.start();
    await connect(t.server, 'small', () => ONES); // L2 norm sqrt(6) ~ 2.45
    const big = await connect(t.server, 'big', () => ({ ...ONES, delta: new Float32Array(6).fill(10) })); // ~ 24.5
    const refused = big.waitFor('error', (m) => m.code === 'NORM_EXCEEDED');
    const s = await t.server.controller.startSession({ rounds: 1, clientsRequired: 2, encoding: 'f32', maxUpdateNorm: 5 });
    await t.server.controller.waitForSession(s.id);
    await refused;
    const r = (await t.server.controller.getSession(s.id)).rounds[0]!;
    expect(r.updates).toBe(1);
    expect([...(await fetchModelFlat(t.server.url, r.modelId!))]).toEqual([2, 3, 4, 5, 1, 2]);
  });

  it('serves SCAFFOLD client tensors as a blob and updates them from the control-variate deltas', async () => {
    const t = await f.start();
    const seen: BlobRef[] = [];
    // Each client sends its model delta and its control-variate delta (named c/<tensor>).
    const scaffoldUpdate = (dy: number, dc: number, n: number): TestUpdate => ({
      delta: [
        { name: 'w0', shape: [4], data: new Float32Array(4).fill(dy) },
        { name: 'w1', shape: [2], data: new Float32Array(2).fill(dy) },
        { name: 'c/w0', shape: [4], data: new Float32Array(4).fill(dc) },
        { name: 'c/w1', shape: [2], data: new Float32Array(2).fill(dc) },
      ],
      numExamples: n,
      encoding: 'f32',
    });
    await connect(t.server, 'a', (task) => {
      const ref = task.settings.strategy.tensors as BlobRef | undefined;
      if (ref) seen.push(ref);
      return scaffoldUpdate(1, 1, 1);
    });
    await connect(t.server, 'b', () => scaffoldUpdate(2, 3, 3));
    const s = await t.server.controller.startSession({ ...BY_EXAMPLES, rounds: 2, clientsRequired: 2, encoding: 'f32', strategy: { name: 'scaffold' } });
    const done = await t.server.controller.waitForSession(s.id);
    expect(done.status).toBe('completed');
    expect(seen).toHaveLength(2);
    // Round 1: c = 0. Round 2: c = 0 + (1 + 3) / 2 = 2 (N = the round's updates).
    expect(await blobFlat(t.server.url, seen[0]!)).toEqual({ names: ['c/w0', 'c/w1'], flat: [0, 0, 0, 0, 0, 0] });
    expect(await blobFlat(t.server.url, seen[1]!)).toEqual({ names: ['c/w0', 'c/w1'], flat: [2, 2, 2, 2, 2, 2] });
    // Model: x + (1*1 + 3*2) / 4 = x + 1.75 per round.
    expect([...(await fetchModelFlat(t.server.url, done.currentModelId))]).toEqual([1, 2, 3, 4, 0, 1].map((v) => v + 3.5));
  });

  it('persists strategy state (FedAdam moments) across a controller restart: same model as an uninterrupted run', async () => {
    const config = { rounds: 4, clientsRequired: 2, encoding: 'f32', strategy: { name: 'fedadam', options: { eta: 0.1 } } };

    // Uninterrupted run.
    const a = await f.start();
    await connect(a.server, 'a', () => ONES);
    await connect(a.server, 'b', () => TWOS);
    const sa = await a.server.controller.startSession(config);
    const doneA = await a.server.controller.waitForSession(sa.id);
    const expected = [...(await fetchModelFlat(a.server.url, doneA.currentModelId))];
    expect(expected).not.toEqual([1, 2, 3, 4, 0, 1]);

    // The same session, with the controller closed after the first committed round and restarted on its data dir.
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    let server = await startServer({ dataDir: tmp.dir, port: 0, logLevel: 'warn', waitPollMs: 100 });
    const port = server.port;
    await server.controller.uploadPackage(await makeTestPackage({ tensors: SEED }));
    const url = server.url;
    await connect(url, 'a', () => ({ ...ONES, delayMs: 50 }));
    await connect(url, 'b', () => ({ ...TWOS, delayMs: 50 }));
    const sb = await server.controller.startSession(config);
    await until(async () => (await server.controller.getSession(sb.id)).session.completedRounds >= 1, 20_000, 'round 1');
    await server.close();
    // The restart really happens mid-session.
    const { openSqliteStateStore } = await import('./store/sqlite-state-store.js');
    const peek = openSqliteStateStore(`${tmp.dir}/state.db`);
    const atClose = await peek.getSession(sb.id);
    await peek.close();
    expect(atClose?.status).toBe('running');
    expect(atClose?.completedRounds).toBeLessThan(4);
    server = await startServer({ dataDir: tmp.dir, port, logLevel: 'warn', waitPollMs: 100 });
    f.defer(() => server.close());
    const doneB = await server.controller.waitForSession(sb.id, ['completed', 'failed'], 30_000);
    expect(doneB.status).toBe('completed');
    expect([...(await fetchModelFlat(server.url, doneB.currentModelId))]).toEqual(expected);
  });
});
