/**
 * Graceful withdrawal end to end in Node (issue 16.5): a real `startServer` with the MNIST MLP package, two Node
 * FedClients training real digits in their worker threads, one on a platform whose battery the test drains while it
 * trains. It withdraws, its training is aborted in the thread, the round closes long before its deadline with the
 * other client's update, the next round leaves it out while its battery is low, and once it charges it trains again.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '@fedweb/codec';
import { startServer, type FedServer } from '@fedweb/server';
import { FedClientCore, nodePlatform, type FedPlatform, type RoundEvent, type WithdrawnEvent } from './index.js';
import { nodeCapabilities } from './platform.js';
import { loadMnist } from '../../test/mnist.js';
import { MLP_DIR, nodeSuite, until } from './testing/suite.js';

const { root, cleanups } = await nodeSuite('fedweb-node-withdraw-');

/** The Node platform with a battery the test sets; setting it fires the device-change listeners. */
function batteryPlatform(level: number): { platform: FedPlatform; set(b: NonNullable<Capabilities['battery']>): void } {
  let battery = { level, charging: false };
  const listeners = new Set<() => void>();
  return {
    platform: {
      ...nodePlatform,
      capabilities: async () => ({ ...(await nodeCapabilities()), battery }),
      onDeviceChange: (cb) => (listeners.add(cb), () => void listeners.delete(cb)),
    },
    set(b) {
      battery = b;
      for (const l of listeners) l();
    },
  };
}

const dataFor = (i: number) => () => {
  const train = loadMnist(300, i * 30);
  return { x: train.x, xShape: [784], y: train.y, yShape: [] };
};

describe('Node FedClient withdrawal against a real fedweb server', () => {
  it('battery drained mid-training: withdraw, slot freed, round closes with the other update; left out while low, back once charged', async () => {
    const server: FedServer = await startServer({ dataDir: join(root, 'server'), port: 0, host: '127.0.0.1', computePackage: { dir: MLP_DIR }, logger: false, heartbeatMs: 1000, waitPollMs: 100 });
    cleanups.push(() => server.close());
    const withdrawnAtServer: string[] = [];
    server.combiner!.events.on('withdrawn', (e) => withdrawnAtServer.push(`${e.clientId}:${e.reason}`));

    const device = batteryPlatform(0.9);
    const rounds: Record<string, RoundEvent[]> = { a: [], b: [] };
    const withdrawn: WithdrawnEvent[] = [];
    const errors: string[] = [];
    const make = (id: 'a' | 'b', platform: FedPlatform) => {
      const c = new FedClientCore({ server: server.url, id: `node-${id}`, cache: false, backend: 'cpu', data: { load: dataFor(id === 'a' ? 0 : 1) }, logger: { warn: () => {} } }, platform);
      c.on('round', (r) => rounds[id]!.push(r));
      c.on('error', (e) => errors.push(`${id}: ${e.code} ${e.message}`));
      cleanups.push(() => c.stop());
      return c;
    };
    const a = make('a', nodePlatform);
    const b = make('b', device.platform);
    b.on('withdrawn', (w) => withdrawn.push(w));
    // The battery drains as soon as b's training is under way in its worker thread.
    let drained = false;
    b.on('progress', () => {
      if (drained) return;
      drained = true;
      device.set({ level: 0.05, charging: false });
    });
    await Promise.all([a.start(), b.start()]);
    await until(() => (server.registry.list()[0]?.clients.size ?? 0) === 2, 20_000, 'both clients online');

    // Ten-minute deadlines: the session can only end within the test's time because b's slot is freed at once.
    const config = { roundTimeoutMs: 600_000, learningRate: 0.1, batchSize: 16, localEpochs: 3, encoding: 'int8', selection: { minBattery: 0.2 } } as const;
    const s1 = await server.controller.startSession({ ...config, rounds: 2, clientsRequired: 1 });
    const done1 = await server.controller.waitForSession(s1.id, ['completed', 'failed', 'stopped'], 100_000);
    expect(done1.status).toBe('completed');
    const r1 = (await server.controller.getSession(s1.id)).rounds;
    expect(r1.map((r) => [r.status, r.updates])).toEqual([
      ['committed', 1],
      ['committed', 1],
    ]);
    expect(r1[0]!.committedAt!).toBeLessThan(r1[0]!.deadline!);
    expect(withdrawn).toEqual([expect.objectContaining({ roundId: r1[0]!.id, reason: 'battery', capabilities: expect.objectContaining({ battery: { level: 0.05, charging: false } }) })]);
    expect(withdrawnAtServer).toEqual(['node-b:battery']);
    // b's training was aborted (never trained to the end, nothing uploaded), and round 2 never reached it.
    expect(rounds['b']!.filter((r) => r.task === 'train').map((r) => `${r.roundId === r1[0]!.id ? 'r1' : r.roundId}:${r.phase}`)).toEqual(['r1:started', 'r1:withdrawn']);
    expect(rounds['a']!.filter((r) => r.phase === 'acknowledged').map((r) => r.roundId)).toEqual(r1.map((r) => r.id));
    await until(() => b.status === 'connected', 20_000, 'b back to connected');

    // Charged: the next session picks b again (it needs both clients), and b trains in the same thread to the end.
    device.set({ level: 0.06, charging: true });
    const s2 = await server.controller.startSession({ ...config, rounds: 1, clientsRequired: 2 });
    const done2 = await server.controller.waitForSession(s2.id, ['completed', 'failed', 'stopped'], 100_000);
    expect(done2.status).toBe('completed');
    const r2 = (await server.controller.getSession(s2.id)).rounds;
    expect(r2.map((r) => [r.status, r.updates])).toEqual([['committed', 2]]);
    expect(rounds['b']!.some((r) => r.roundId === r2[0]!.id && r.phase === 'acknowledged')).toBe(true);
    expect(withdrawn).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
