/**
 * `/metrics` in real sessions: the values move on the controller (its embedded combiner counting one update and
 * refusing another with NORM_EXCEEDED) and on an external `fedweb combiner`; a viewer token may read them, no
 * token may not, and `--metrics-port` serves them on a listener of its own without one.
 */
import { describe, expect, it } from 'vitest';
import { issueToken } from '../auth.js';
import { startCombiner } from '../combiner/process.js';
import { serverFixture } from '../../test/fixture.js';
import { ONES, SEED } from '../../test/tiny-session.js';
import { until } from '../testing/harness.js';

const SECRET = 'a-test-secret-of-enough-length';
const f = serverFixture(SEED);

/** The samples of a Prometheus text exposition, keyed `name{label="value",...}` as written. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

async function scrape(url: string, token?: string): Promise<Map<string, number>> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseExposition(await res.text());
}

const NAMES = ['fedweb_rounds_total', 'fedweb_updates_total', 'fedweb_update_bytes_total', 'fedweb_fold_seconds', 'fedweb_round_duration_seconds', 'fedweb_clients_connected', 'fedweb_sessions'];

describe('Prometheus metrics', () => {
  it('move on the controller during a session; a viewer token may read them, and so may the metrics port without one', async () => {
    const server = await f.setup({ secret: SECRET, metricsPort: 0 });
    const viewer = await issueToken({ secret: SECRET, role: 'viewer', sub: 'eyes' });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const before = await scrape(`${server.url}/metrics`, viewer);
    for (const name of NAMES) expect([...before.keys()].some((k) => k.startsWith(name))).toBe(true);
    expect(before.get('fedweb_rounds_total{status="committed"}')).toBe(0);
    expect(before.get('fedweb_updates_total{result="counted"}')).toBe(0);

    const clientToken = (sub: string) => issueToken({ secret: SECRET, role: 'client', sub });
    await f.connect(server, { clientId: 'small', token: await clientToken('small'), onTrain: () => ONES });
    const big = await f.connect(server, { clientId: 'big', token: await clientToken('big'), onTrain: () => ({ ...ONES, delta: new Float32Array(6).fill(10) }) });
    await until(() => server.registry.get('embedded')?.clients.size === 2, 10_000, 'both clients known to the controller');
    const refused = big.waitFor('error', (m) => m.code === 'NORM_EXCEEDED');
    const s = await server.controller.startSession({ rounds: 1, clientsRequired: 2, encoding: 'f32', maxUpdateNorm: 5 });
    expect((await server.controller.waitForSession(s.id)).status).toBe('completed');
    await refused;

    const after = await scrape(`${server.url}/metrics`, viewer);
    expect(after.get('fedweb_rounds_total{status="committed"}')).toBe(1);
    expect(after.get('fedweb_rounds_total{status="failed"}')).toBe(0);
    expect(after.get('fedweb_updates_total{result="counted"}')).toBe(1);
    expect(after.get('fedweb_updates_total{result="NORM_EXCEEDED"}')).toBe(1);
    expect(after.get('fedweb_update_bytes_total{direction="in"}')).toBeGreaterThan(2 * 6 * 4);
    // Both clients downloaded the 6-parameter model (a frame of at least 24 bytes of float32).
    expect(after.get('fedweb_update_bytes_total{direction="out"}')).toBeGreaterThanOrEqual(2 * 24);
    expect(after.get('fedweb_fold_seconds_count')).toBe(1);
    expect(after.get('fedweb_round_duration_seconds_count')).toBe(1);
    expect(after.get('fedweb_round_duration_seconds_sum')).toBeGreaterThan(0);
    expect(after.get('fedweb_clients_connected{combiner="embedded"}')).toBe(2);
    expect(after.get('fedweb_sessions{state="completed"}')).toBe(1);
    expect(after.get('fedweb_sessions{state="running"}')).toBe(0);

    // The separate listener: the same registry, no token, nothing else served.
    expect(server.metricsPort).toBeGreaterThan(0);
    const port = await scrape(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(port.get('fedweb_updates_total{result="counted"}')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${server.metricsPort}/api/status`)).status).toBe(404);
  });

  it('has the same names on an external combiner, with its own numbers', async () => {
    const server = await f.setup({ embeddedCombiner: false });
    const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2', logger: false, metrics: { port: 0 } });
    f.defer(() => c2.close());
    await c2.waitConnected();
    await until(() => server.registry.get('c2'), 5000, 'c2 registered');
    await f.connect(server, { clientId: 'k1', onTrain: () => ONES });
    // The combiner has k1, and the controller has heard so (its debounced combiner.status).
    await until(() => c2.combiner.clientCount === 1 && server.registry.get('c2')?.clients.size === 1, 10_000, 'k1 on c2, as the controller knows');
    const s = await server.controller.startSession({ rounds: 2, encoding: 'f32' });
    expect((await server.controller.waitForSession(s.id)).status).toBe('completed');

    for (const url of [`http://127.0.0.1:${c2.port}/metrics`, `http://127.0.0.1:${c2.metricsPort}/metrics`]) {
      const m = await scrape(url);
      for (const name of NAMES) expect([...m.keys()].some((k) => k.startsWith(name))).toBe(true);
      expect(m.get('fedweb_updates_total{result="counted"}')).toBe(2);
      expect(m.get('fedweb_update_bytes_total{direction="in"}')).toBeGreaterThan(2 * 6 * 4);
      expect(m.get('fedweb_fold_seconds_count')).toBe(2);
      expect(m.get('fedweb_clients_connected{combiner="c2"}')).toBe(1);
    }
    const controller = await scrape(`${server.url}/metrics`);
    expect(controller.get('fedweb_rounds_total{status="committed"}')).toBe(2);
    expect(controller.get('fedweb_clients_connected{combiner="c2"}')).toBe(1);
    // The controller's embedded admission saw none of those updates (it has no embedded combiner).
    expect(controller.get('fedweb_updates_total{result="counted"}')).toBe(0);
  });
});
