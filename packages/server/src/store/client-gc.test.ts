/**
 * Client ids are bounded (real sockets): ids that never complete a round are garbage-collected once unseen for
 * `clientRetentionMs`, contributors are kept; `GET /api/clients` is paginated by id (`limit`, `after`, `next`), and
 * the typed API client follows the pages.
 */
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../api-client/index.js';
import { until } from '../testing/harness.js';
import { ONES, SEED, sessionRounds } from '../../test/tiny-session.js';
import { serverFixture } from '../../test/fixture.js';

const f = serverFixture(SEED);

describe('client ids', () => {
  it('ids that never complete a round are removed once unseen for clientRetentionMs; a contributor is kept', async () => {
    const server = await f.setup({ clientRetentionMs: 300, heartbeatMs: 1000 });
    const worker = await f.connect(server, { clientId: 'worker', onTrain: () => ONES });
    // Stays connected: its contribution reaches the controller in the combiner's status keepalive.
    await f.connect(server, { clientId: 'worker-2', onTrain: () => ONES });
    // Ids that say hello and leave without ever completing a round (a flood of made-up ids looks like this).
    const junk = await Promise.all(['junk-1', 'junk-2', 'junk-3'].map((clientId) => f.connect(server, { clientId })));
    for (const j of junk) await j.close();
    const { rounds } = await sessionRounds(server, { rounds: 1, clientsRequired: 1 });
    expect(rounds[0]!.status).toBe('committed');
    expect(rounds[0]!.updates).toBe(2);
    // Leaves right after the round: its contribution is announced as it leaves, if the keepalive has not yet.
    await worker.close();
    // The rows were written (status -> flush), then the junk ones collected; the worker's row stays.
    const rows = await until(async () => {
      const all = await server.state.listClients();
      const kept = all.filter((c) => c.clientId.startsWith('worker') && c.contributedAt);
      return kept.length === 2 && !all.some((c) => c.clientId.startsWith('junk-')) ? all : null;
    }, 20_000, 'junk ids collected, the workers kept');
    expect(rows.map((c) => c.clientId)).toEqual(['worker', 'worker-2']);
    const { clients } = await new ApiClient({ baseUrl: server.url }).listClients();
    expect(clients.map((c) => [c.clientId, c.online, typeof c.contributedAt])).toEqual([
      ['worker', false, 'number'],
      ['worker-2', true, 'number'],
    ]);
  });

  it('GET /api/clients is paginated (default 100, at most 1000, next = the last id of a full page) over stored and live clients', async () => {
    const server = await f.setup();
    const stored = Array.from({ length: 250 }, (_, i) => `s-${String(i).padStart(3, '0')}`);
    await server.state.upsertClients(stored.map((clientId) => ({ clientId, combinerId: 'embedded', firstSeen: 1, lastSeen: 2, capabilities: {} })));
    await f.connect(server, { clientId: 'live-a' });
    await f.connect(server, { clientId: 's-100x' });
    const api = new ApiClient({ baseUrl: server.url });
    const first = await until(async () => {
      const p = await api.listClients();
      return p.online === 2 ? p : null;
    }, 10_000, 'both live clients announced');
    expect(first.clients).toHaveLength(100);
    expect(first.next).toBe(first.clients.at(-1)!.clientId);
    const all: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await api.listClients({ limit: 60, ...(after !== undefined ? { after } : {}) });
      pages++;
      all.push(...page.clients.map((c) => c.clientId));
      if (!page.next) break;
      after = page.next;
    }
    const expected = [...stored, 'live-a', 's-100x'].sort();
    expect(all).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 60));
    const viaIterator: string[] = [];
    for await (const c of api.allClients({ limit: 7 })) viaIterator.push(c.clientId);
    expect(viaIterator).toEqual(expected);
    expect(all.filter((id) => id === 's-100x')).toHaveLength(1);
    const tooMany = await fetch(`${server.url}/api/clients?limit=1001`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { code: string }).code).toBe('BAD_CONFIG');
  });
});
