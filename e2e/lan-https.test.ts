/**
 * The TLS front `npm start` puts before the server for phones on the LAN (scripts/lan-https.ts): plain
 * requests, the discovery rewrite to wss://, and WebSocket upgrades all pass through.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ensureSelfSignedCert, startHttpsFront } from '../scripts/lan-https.js';

describe('https front for LAN clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedweb-tls-'));
  let backend: Server;
  let wss: WebSocketServer;
  let front: Server;
  let port = 0;

  beforeAll(async () => {
    backend = createServer((req, res) => {
      if (req.url === '/api/discover') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ combinerId: 'embedded', url: `ws://${req.headers.host}/ws/client` }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-proto': String(req.headers['x-forwarded-proto']) });
      res.end(`hello ${req.method} ${req.url}`);
    });
    wss = new WebSocketServer({ server: backend, path: '/ws/client' });
    wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(m, { binary })));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const tls = ensureSelfSignedCert(dir, []);
    if (!tls) throw new Error('openssl is required for this test');
    front = await startHttpsFront({ port: 0, host: '127.0.0.1', targetPort: (backend.address() as { port: number }).port, tls });
    port = (front.address() as { port: number }).port;
  });

  afterAll(async () => {
    front?.closeAllConnections();
    await new Promise((r) => front?.close(r));
    wss?.close();
    await new Promise((r) => backend?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const fetchTls = (method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{}' : undefined);
    });

  it('forwards plain requests, marking them as https', async () => {
    const r = await fetchTls('GET', '/index.html');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello GET /index.html');
    expect(r.headers['x-proto']).toBe('https');
  });

  it('rewrites the combiner URL of /api/discover to wss://', async () => {
    const r = await fetchTls('POST', '/api/discover');
    expect(JSON.parse(r.body).url).toBe(`wss://127.0.0.1:${port}/ws/client`);
  });

  it('carries WebSocket traffic both ways over TLS', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws/client`, { rejectUnauthorized: false });
    const echoed = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no echo')), 10_000);
      ws.on('open', () => ws.send('ping over tls'));
      ws.on('message', (m) => {
        clearTimeout(timer);
        resolve(m.toString());
      });
      ws.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    ws.close();
    expect(echoed).toBe('ping over tls');
  });
});
