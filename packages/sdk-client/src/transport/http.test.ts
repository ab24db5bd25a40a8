import { describe, expect, it } from 'vitest';
import { resolveHttpUrl, toHttpBase, toWebSocketUrl, httpError } from './http.js';

describe('URL handling', () => {
  it('maps ws(s) to http(s) and strips trailing slashes', () => {
    expect(toHttpBase('wss://fl.example.com/')).toBe('https://fl.example.com');
    expect(toHttpBase('ws://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(toHttpBase('http://127.0.0.1:8080/base/')).toBe('http://127.0.0.1:8080/base');
    expect(() => toHttpBase('ftp://x')).toThrow(/http, https, ws or wss/);
    expect(() => toHttpBase('not a url')).toThrow(/not an absolute URL/);
  });

  it('resolves relative blob and combiner URLs against the server origin', () => {
    expect(resolveHttpUrl('/api/models/m1', 'http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/api/models/m1');
    expect(resolveHttpUrl('http://other:1/a', 'http://127.0.0.1:8080')).toBe('http://other:1/a');
    expect(toWebSocketUrl('/ws/client', 'https://fl.example.com')).toBe('wss://fl.example.com/ws/client');
    expect(toWebSocketUrl('ws://10.0.0.2:9000/ws', 'https://fl.example.com')).toBe('ws://10.0.0.2:9000/ws');
  });

  it('turns HTTP errors into typed errors, preferring the server body', async () => {
    const e1 = await httpError(new Response(JSON.stringify({ code: 'UNAUTHORIZED', message: 'bad token' }), { status: 401 }), 'POST /api/discover');
    expect(e1.code).toBe('UNAUTHORIZED');
    expect(e1.message).toMatch(/bad token.*token/);
    const e2 = await httpError(new Response('busy', { status: 503 }), 'GET /x');
    expect(e2.code).toBe('UNAVAILABLE');
    expect(e2.retryable).toBe(true);
    const e3 = await httpError(new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no model' } }), { status: 404 }), 'GET /m');
    expect(e3.code).toBe('NOT_FOUND');
  });
});
