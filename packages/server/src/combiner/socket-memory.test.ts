/**
 * What a joined client socket keeps: not the HTTP request of its upgrade (Fastify's request, reply and logger,
 * the headers), which would cost about 3 KB per idle socket for as long as it stays open.
 */
import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { startCombiner } from './process.js';
import { until } from '../testing/harness.js';
import { api } from '../testing/test-client.js';
import { serverFixture } from '../../test/fixture.js';
import { SEED } from '../../test/tiny-session.js';

const { setup, connect, defer } = serverFixture(SEED);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** True once every request in `refs` was garbage-collected (a few full collections, letting timers run between). */
async function collected(refs: Array<WeakRef<IncomingMessage>>): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    gc();
    if (refs.every((r) => r.deref() === undefined)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe('joined client sockets', () => {
  it('let go of their upgrade request (embedded combiner) and keep working', async () => {
    const server = await setup({ heartbeatMs: 200 });
    const upgrades: Array<WeakRef<IncomingMessage>> = [];
    server.app.server.on('upgrade', (req: IncomingMessage) => upgrades.push(new WeakRef(req)));
    const clients = [await connect(server, { clientId: 'a' }), await connect(server, { clientId: 'b' })];
    expect(upgrades).toHaveLength(2);
    expect(await collected(upgrades)).toBe(true);
    // Still joined and heartbeating after several sweeps.
    await new Promise((r) => setTimeout(r, 1000));
    expect(clients.every((c) => c.connected)).toBe(true);
    expect(server.combiner?.clientCount).toBe(2);
  });

  it('let go of their upgrade request (external combiner)', async () => {
    const server = await setup({ embeddedCombiner: false });
    const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2', port: 0, logLevel: 'error' });
    defer(() => c2.close());
    await until(async () => ((await api(server.url, '/api/combiners')).combiners as unknown[]).length === 1, 10_000, 'combiner registered');
    const upgrades: Array<WeakRef<IncomingMessage>> = [];
    c2.app.server.on('upgrade', (req: IncomingMessage) => upgrades.push(new WeakRef(req)));
    const client = await connect(server, { clientId: 'x' });
    expect(upgrades).toHaveLength(1);
    expect(await collected(upgrades)).toBe(true);
    expect(client.connected).toBe(true);
  });
});
