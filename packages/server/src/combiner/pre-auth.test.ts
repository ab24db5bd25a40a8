/**
 * Attack-style tests of what an unauthenticated client WebSocket may cost: it is closed at the hello deadline,
 * and it cannot make the server buffer more than the pre-auth limit (over real sockets, auth on).
 */
import type { Socket } from 'node:net';
import { withTimeout } from '@fedweb/codec';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { serverFixture } from '../../test/fixture.js';
import { startCombiner } from './process.js';
import { SEED } from '../../test/tiny-session.js';

const { setup, defer } = serverFixture(SEED);
const SECRET = 'pre-auth-test-secret-0123456789';

/** Opens a WebSocket (to the controller's `path`, or to a `ws://` URL as is); resolves once open, with its close code and reason to come. */
async function open(url: string, path = '/ws/client'): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url.startsWith('ws') ? url : `${url.replace(/^http/, 'ws')}${path}`);
  defer(async () => ws.terminate());
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

describe('unauthenticated client sockets', () => {
  it('closes a socket that never says hello at the hello deadline (4408)', async () => {
    const server = await setup({ secret: SECRET, combiner: { helloTimeoutMs: 300 } });
    const { closed } = await open(server.url);
    expect(await withTimeout(closed, 5000, 'no close')).toEqual({ code: 4408, reason: 'hello timeout' });
  });

  it('reads at most the pre-auth limit from a socket that has not said hello, then closes it (1009)', async () => {
    const server = await setup({ secret: SECRET, combiner: { helloTimeoutMs: 60_000 } });
    const upgraded: Socket[] = [];
    server.app.server.on('upgrade', (_req, socket: Socket) => upgraded.push(socket));
    const { ws, closed } = await open(server.url);
    // One 8 MiB WebSocket message before hello (the old server read all of it, up to its 16 MiB maxPayload).
    ws.send(new Uint8Array(8 * 1024 * 1024));
    expect(await withTimeout(closed, 10_000, 'no close')).toEqual({ code: 1009, reason: 'too much data before hello' });
    expect(upgraded).toHaveLength(1);
    // The 64 KiB limit plus the reads already under way when it was crossed (161 kB seen), not 8 MiB.
    expect(upgraded[0]!.bytesRead).toBeLessThan(256 * 1024);
  });

  it('closes a combiner link that never sends combiner.hello (auth off, where the upgrade needs no token)', async () => {
    const server = await setup({ combiner: { helloTimeoutMs: 300 } });
    const { closed } = await open(server.url, '/ws/combiner');
    expect(await withTimeout(closed, 5000, 'no close')).toEqual({ code: 4408, reason: 'combiner.hello timeout' });
  });

  it('bounds an external combiner\'s unauthenticated sockets the same way', async () => {
    const server = await setup({ secret: SECRET });
    const c2 = await startCombiner({ controllerUrl: server.url, name: 'c2', port: 0, secret: SECRET, logLevel: 'error', limits: { helloTimeoutMs: 60_000 } });
    defer(() => c2.close());
    const { ws, closed } = await open(c2.url);
    ws.send(new Uint8Array(8 * 1024 * 1024));
    expect(await withTimeout(closed, 10_000, 'no close')).toEqual({ code: 1009, reason: 'too much data before hello' });
  });
});
