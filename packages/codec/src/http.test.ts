import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { httpCall, httpErrorFrom, requestBytes, requestJson } from './http.js';

let server: Server;
let base = '';
/** Requests whose response the test holds back (timeout and abort tests), released in afterAll. */
const held: ServerResponse[] = [];
let arrived: (() => void) | null = null;

function route(req: IncomingMessage, res: ServerResponse): void {
  const send = (status: number, body: string, type = 'application/json'): void => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  switch (req.url) {
    case '/ok':
      return send(200, JSON.stringify({ a: 1, auth: req.headers.authorization ?? null }));
    case '/echo': {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => send(200, JSON.stringify({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) as unknown })));
      return;
    }
    case '/fed-error':
      return send(404, JSON.stringify({ kind: 'error', code: 'NOT_FOUND', message: 'no model m1' }));
    case '/proxy-error':
      return send(502, '<html>bad gateway</html>', 'text/html');
    case '/lying-error':
      return send(400, JSON.stringify({ kind: 'error', code: 'NOT_A_CODE', message: 'x' }));
    case '/garbage':
      return send(200, '{"a": tru');
    case '/big':
      return send(200, JSON.stringify({ pad: 'x'.repeat(10_000) }));
    case '/hang':
      held.push(res);
      arrived?.();
      return;
    default:
      return send(404, '');
  }
}

beforeAll(async () => {
  server = createServer(route);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const r of held) r.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('the JSON-over-fetch core', () => {
  it('returns parsed JSON, sends the bearer token and JSON bodies', async () => {
    expect(await requestJson({ url: `${base}/ok`, token: 't1' }, z.object({ a: z.number(), auth: z.string() }))).toEqual({ a: 1, auth: 'Bearer t1' });
    expect(await requestJson({ url: `${base}/echo`, json: { x: [1, 2] } })).toEqual({ method: 'POST', type: 'application/json', body: { x: [1, 2] } });
  });

  it("maps the server's error body to its code, and a bodiless error to the status's code", async () => {
    await expect(requestJson({ url: `${base}/fed-error` })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/no model m1/), details: { status: 404 } });
    await expect(requestJson({ url: `${base}/proxy-error` })).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    // A code the table does not know is not trusted: the status decides.
    await expect(requestJson({ url: `${base}/lying-error` })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    expect(httpErrorFrom(401, '', 'GET /x', { UNAUTHORIZED: 'pass a token' }).message).toMatch(/HTTP 401.*pass a token/);
  });

  it('refuses bodies that are not JSON, do not match the schema, or exceed the bound', async () => {
    await expect(requestJson({ url: `${base}/garbage` })).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    await expect(requestJson({ url: `${base}/ok` }, z.object({ a: z.string() }))).rejects.toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/a:/) });
    await expect(requestBytes({ url: `${base}/big`, maxBytes: 1000 })).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE' });
    expect((await requestBytes({ url: `${base}/big`, maxBytes: 20_000 })).byteLength).toBeGreaterThan(10_000);
  });

  it('turns a refused connection into retryable UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(httpCall({ url: `http://127.0.0.1:${port}/x` })).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
  });

  it('times out a call the server never answers, and aborts on the caller signal', async () => {
    await expect(httpCall({ url: `${base}/hang`, timeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const ac = new AbortController();
    const reached = new Promise<void>((r) => (arrived = r));
    const call = httpCall({ url: `${base}/hang`, signal: ac.signal, timeoutMs: 60_000 });
    await reached;
    ac.abort();
    await expect(call).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('ends even when an injected fetch ignores its signal', async () => {
    const never = (): Promise<Response> => new Promise<Response>(() => undefined);
    await expect(httpCall({ url: 'http://example.invalid/', fetch: never, timeoutMs: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
