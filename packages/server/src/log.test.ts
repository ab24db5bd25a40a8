/**
 * Log lines of a real `fedweb server` process whose stdout is a pipe: one JSON object a line, and every line
 * about a request or a WebSocket connection carries its request id (`reqId`: the caller's `X-Request-Id`, else a
 * generated one, echoed in the response header). `--metrics-port` serves `/metrics` on a listener of its own.
 */
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { newRequestId, serverLoggerOptions } from './log.js';
import { tempDir, until } from './testing/harness.js';
import { spawnCli } from './testing/spawn.js';

const jsonLines = (out: string): Array<Record<string, unknown>> =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('logs', () => {
  it('request ids: the caller’s X-Request-Id when it is a plain token, else 12 random hex digits', () => {
    const req = (id?: string) => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as never;
    expect(newRequestId(req('lb-7f3a.1'))).toBe('lb-7f3a.1');
    expect(newRequestId(req('has space'))).toMatch(/^[0-9a-f]{12}$/);
    expect(newRequestId(req('x'.repeat(65)))).toMatch(/^[0-9a-f]{12}$/);
    expect(newRequestId()).not.toBe(newRequestId());
  });

  it('pretty lines on a terminal (pino-pretty), JSON otherwise', () => {
    const pretty = serverLoggerOptions('info', true) as { transport?: { target: string } };
    expect(pretty.transport?.target).toMatch(/pino-pretty/);
    expect((serverLoggerOptions('info', false) as { transport?: unknown }).transport).toBeUndefined();
  });

  it('a server process writes JSON lines with the request id of each request and WebSocket', async () => {
    const tmp = await tempDir();
    const p = spawnCli(['server', '--port', '0', '--data-dir', tmp.dir, '--metrics-port', '0']);
    try {
      const url = (await p.waitFor(/listening on (http:\/\/[0-9.:]+)/))[1]!;
      const res = await fetch(`${url}/api/sessions/no-such-session`, { headers: { 'x-request-id': 'req-from-proxy' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('x-request-id')).toBe('req-from-proxy');
      const anon = await fetch(`${url}/api/sessions/another-missing-one`);
      const generated = anon.headers.get('x-request-id')!;
      expect(generated).toMatch(/^[0-9a-f]{12}$/);

      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/client`, { headers: { 'x-request-id': 'ws-conn-1' } });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ v: 2, kind: 'hello', clientId: 'log-kiosk', capabilities: {} }));
      await new Promise((resolve) => ws.once('message', resolve)); // welcome
      ws.send(JSON.stringify({ v: 2, kind: 'no-such-kind' }));
      await until(() => jsonLines(p.output()).find((l) => l.msg === 'invalid message'), 10_000, 'the invalid message line');
      ws.close();
      await until(() => jsonLines(p.output()).find((l) => l.msg === 'client disconnected'), 10_000, 'the disconnect line');

      const lines = jsonLines(p.output());
      expect(lines.length).toBeGreaterThan(3);
      const refused = lines.filter((l) => l.msg === 'request refused');
      expect(refused.map((l) => l.reqId)).toEqual(['req-from-proxy', generated]);
      expect(lines.find((l) => l.msg === 'client disconnected')).toMatchObject({ clientId: 'log-kiosk', reqId: 'ws-conn-1' });
      expect(lines.find((l) => l.msg === 'invalid message')).toMatchObject({ reqId: 'ws-conn-1' });

      const metricsLine = lines.find((l) => l.msg === 'metrics listener up (GET /metrics, no token)');
      const m = await fetch(`http://127.0.0.1:${String(metricsLine?.port)}/metrics`);
      expect(await m.text()).toMatch(/^fedweb_clients_connected\{combiner="embedded"\} 0$/m);
      // Every line of stdout but the one `fedweb server` prints for scripts is a JSON object.
      const other = p.output().split('\n').filter((l) => l && !l.startsWith('{'));
      expect(other.every((l) => l.startsWith('fedweb server listening on'))).toBe(true);
    } finally {
      await p.stop();
      await tmp.cleanup();
    }
  });
});
