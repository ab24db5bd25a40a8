import { describe, expect, it } from 'vitest';
import { progressFetch } from './progress-fetch.js';

describe('progressFetch', () => {
  it('counts a response body as it is read, with the total from Content-Length', async () => {
    const body = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const seen: Array<[number, number | null]> = [];
    const f = progressFetch(async () => new Response(body, { headers: { 'content-length': String(body.length) } }), (d, t) => void seen.push([d, t]), 'down');
    const res = await f('http://x/');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(body);
    expect(seen[0]).toEqual([0, body.length]);
    expect(seen.at(-1)).toEqual([body.length, body.length]);
    expect(seen.every(([d], i) => i === 0 || d >= seen[i - 1]![0])).toBe(true);
  });

  it('passes a body-less answer (304) through untouched, and says so when the total is unknown', async () => {
    const notModified = new Response(null, { status: 304 });
    expect(await progressFetch(async () => notModified, () => undefined, 'down')('http://x/')).toBe(notModified);
    const seen: Array<number | null> = [];
    const stream = new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array(5)), c.close()) });
    await (await progressFetch(async () => new Response(stream), (_d, t) => void seen.push(t), 'down')('http://x/')).arrayBuffer();
    expect(seen.every((t) => t === null)).toBe(true);
  });

  it('streams an upload in chunks, counting what the network takes, and sends the same bytes', async () => {
    const json = JSON.stringify({ bundle: 'A'.repeat(300_000) });
    const seen: number[] = [];
    let received = '';
    let duplex: unknown;
    const f = progressFetch(
      async (_url, init) => {
        duplex = (init as { duplex?: unknown }).duplex;
        received = await new Response(init?.body as ReadableStream).text();
        return new Response('{}');
      },
      (d, t) => {
        seen.push(d);
        expect(t).toBe(json.length);
      },
      'up',
    );
    await f('http://x/', { method: 'POST', body: json });
    expect(received).toBe(json);
    expect(duplex).toBe('half');
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(json.length);
    expect(seen.length).toBeGreaterThan(3);
  });
});
