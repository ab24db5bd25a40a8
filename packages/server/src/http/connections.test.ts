/**
 * Attack-style tests of the connection limits over real sockets: idle and slow connections, per-address and
 * total caps (the latter in a server process under a lowered file-descriptor limit).
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { withTimeout } from '@fedweb/codec';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { serverFixture } from '../../test/fixture.js';
import { SEED } from '../../test/tiny-session.js';
import { tempDir, until } from '../testing/harness.js';
import { spawnCli, type CliProcess } from '../testing/spawn.js';
import { connectionLimits } from './connections.js';

const { setup, connect } = serverFixture(SEED);

/** A raw TCP connection that records what it receives and when it closes. */
interface RawConn {
  socket: Socket;
  received(): string;
  closed: Promise<string>;
  isClosed(): boolean;
}

const opened: Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

function raw(port: number, localAddress = '127.0.0.1'): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1', localAddress });
    opened.push(socket);
    let data = '';
    let done = false;
    socket.on('data', (d) => (data += d.toString('utf8')));
    const closed = new Promise<string>((r) => socket.once('close', () => ((done = true), r(data))));
    socket.once('error', (e) => (done ? undefined : reject(e)));
    socket.once('connect', () => resolve({ socket, received: () => data, closed, isClosed: () => done }));
  });
}

/** `GET path` on a fresh connection from `localAddress`: the raw response text. */
async function get(port: number, path: string, localAddress = '127.0.0.1'): Promise<string> {
  const c = await raw(port, localAddress);
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  return withTimeout(c.closed, 10_000, `no answer to GET ${path}`);
}

describe('HTTP timeouts', () => {
  it('closes an idle TCP connection and a slowloris request (headers trickled) at the headers timeout', async () => {
    const server = await setup({ connections: { headersTimeoutMs: 400 } });
    const idle = await raw(server.port);
    const slow = await raw(server.port);
    slow.socket.write('GET /api/status HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => slow.socket.write('X-Slow: 1\r\n'), 50);
    try {
      // The old server keeps both for Node's default 60 s (checked every 30 s).
      expect(await withTimeout(idle.closed, 5000, 'idle connection not closed')).toMatch(/^HTTP\/1\.1 408/);
      expect(await withTimeout(slow.closed, 5000, 'slowloris connection not closed')).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes an idle keep-alive connection after its last response', async () => {
    const server = await setup({ connections: { keepAliveTimeoutMs: 300 } });
    const c = await raw(server.port);
    c.socket.write('GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => c.received().includes('"kind"'), 5000, 'the status response');
    // Fastify's default keeps it for 72 s.
    await withTimeout(c.closed, 5000, 'keep-alive connection not closed');
  });

  it('leaves joined WebSockets alone: they outlive every HTTP timeout (heartbeats govern them)', async () => {
    const server = await setup({ connections: { headersTimeoutMs: 200, requestTimeoutMs: 200, idleTimeoutMs: 200, keepAliveTimeoutMs: 200 } });
    const client = await connect(server, { clientId: 'a', heartbeat: false, autoReconnect: false });
    // Two idle sockets closed one after the other by those timeouts: the clock the WebSocket has to outlive.
    for (let i = 0; i < 2; i++) await withTimeout((await raw(server.port)).closed, 5000, 'idle socket not closed');
    expect(client.connected).toBe(true);
    expect(server.combiner?.clientCount).toBe(1);
  });
});

describe('connection caps', () => {
  it('refuses connections over the per-address cap with a 503 (HTTP and WebSocket), and still serves other addresses', async () => {
    const server = await setup({ connections: { maxConnectionsPerAddress: 5 } });
    const held = await Promise.all(Array.from({ length: 5 }, () => raw(server.port, '127.0.0.2')));
    const refused = await get(server.port, '/api/status', '127.0.0.2');
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4))).toMatchObject({ kind: 'error', code: 'UNAVAILABLE', message: expect.stringContaining('this address') });
    // A WebSocket upgrade from there is refused the same way (the ws client reports the 503).
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/client`, { localAddress: '127.0.0.2' });
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('upgrade accepted over the cap')));
      ws.once('error', () => undefined);
    });
    expect(status).toBe(503);
    // Another address, and the exempt loopback address, are served.
    expect(await get(server.port, '/api/status', '127.0.0.3')).toMatch(/^HTTP\/1\.1 200/);
    expect(await get(server.port, '/api/status')).toMatch(/^HTTP\/1\.1 200/);
    // A slot freed is a slot usable again.
    held[0]!.socket.destroy();
    await until(async () => /^HTTP\/1\.1 200/.test(await get(server.port, '/api/status', '127.0.0.2')), 5000, 'a freed slot');
  });

  it('derives the total cap from the file-descriptor limit', () => {
    expect(connectionLimits().maxConnections).toBeGreaterThanOrEqual(16);
    expect(connectionLimits({ maxConnections: 7 }).maxConnections).toBe(7);
  });

  it('under prlimit --nofile=256, a flood of unauthenticated connections is refused with 503s and the server keeps answering /api/status', async () => {
    const { dir, cleanup } = await tempDir();
    let p: CliProcess | null = null;
    try {
      // Default caps (derived from the lowered limit); the flood's idle sockets time out quickly.
      p = spawnCli(['server', '--port', '0', '--data-dir', dir, '--secret', 'x'.repeat(32), '--headers-timeout-ms', '1500', '--hello-timeout-ms', '1500', '--log-level', 'error'], {}, { prefix: ['prlimit', '--nofile=256:256'] });
      const [, url] = await p.waitFor(/listening on (http:\/\/[^\s"]+)/);
      const port = Number(new URL(url!).port);
      // 400 sockets (more than the process has descriptors): idle TCP and WebSockets that never say hello.
      const flood = await Promise.all(Array.from({ length: 300 }, () => raw(port)));
      const sockets = Array.from({ length: 100 }, () => new WebSocket(`ws://127.0.0.1:${port}/ws/client`));
      const wsOutcome = sockets.map(
        (ws) =>
          new Promise<string>((resolve) => {
            ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
            ws.once('close', (code) => resolve(`close ${code}`));
            ws.once('error', (e) => resolve(`error ${e.message}`));
          }),
      );
      // While the flood holds its connections, a request still gets an answer (served, or refused in so many words).
      expect(await get(port, '/api/status')).toMatch(/^HTTP\/1\.1 (401|503)/);
      // Every connection gets an answer: a 503 refusal now, or a 408 / 4408 at the timeout; none is cut off silently.
      const answers = await withTimeout(Promise.all([...flood.map((c) => c.closed), ...wsOutcome]), 20_000, 'every flooded connection answered');
      const refused = answers.filter((a) => a.startsWith('HTTP/1.1 503') || a === 'http 503').length;
      const timedOut = answers.filter((a) => a.startsWith('HTTP/1.1 408') || a === 'close 4408').length;
      expect(refused + timedOut).toBe(400);
      expect(refused).toBeGreaterThan(0);
      expect(answers.find((a) => a.startsWith('HTTP/1.1 503'))).toContain('"code":"UNAVAILABLE"');
      // And the application answers as before (auth is on and the request carries no token: a typed 401).
      await until(async () => /^HTTP\/1\.1 401[^]*"code":"UNAUTHORIZED"/.test(await get(port, '/api/status')), 10_000, 'the application answering once the flood is gone');
      expect(p.child.exitCode).toBeNull();
    } finally {
      await p?.stop();
      await cleanup();
    }
  }, 60_000);
});
