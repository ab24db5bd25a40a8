import { describe, expect, it } from 'vitest';
import { startCombiner } from './process.js';
import { until } from '../testing/harness.js';
import { api } from '../testing/test-client.js';
import { serverFixture } from '../../test/fixture.js';
import { SEED } from '../../test/tiny-session.js';

const { setup, connect, defer } = serverFixture(SEED);

describe('client sockets', () => {
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

  it('sends a returning client back to the combiner it left (where its slot is), not where the policy would', async () => {
    // A policy that sends 'x' to the embedded combiner the first time and to c2 afterwards.
    let asked = 0;
    const server = await setup({ discoveryPolicy: (id: string, cs: Array<{ id: string }>) => (id === 'x' && asked++ === 0 ? 'embedded' : (cs.find((c) => c.id === 'c2')?.id ?? null)) });
    const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2', port: 0, logLevel: 'warn' });
    defer(() => c2.close());
    await c2.waitConnected();
    const x = await connect(server, { clientId: 'x', autoReconnect: false });
    expect(x.combinerId).toBe('embedded');
    await until(() => server.registry.get('embedded')?.clients.has('x'), 10_000, 'x in the status');
    x.drop();
    await until(() => server.registry.get('embedded')?.clients.has('x') === false, 10_000, 'x gone from the status');
    const back = await connect(server, { clientId: 'x' });
    expect(back.combinerId).toBe('embedded');
    // Another client follows the policy.
    const y = await connect(server, { clientId: 'y' });
    expect(y.combinerId).toBe('c2');
    expect(asked).toBe(1);
  });
});
