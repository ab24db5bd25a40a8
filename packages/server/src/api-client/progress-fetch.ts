/**
 * A `fetch` wrapper that reports how many bytes have moved: the response body counted as it is read
 * (downloads), or the request body streamed in chunks and counted as the network takes them (uploads).
 * Browser-safe (WHATWG streams only).
 */
import type { FetchLike } from '@fedweb/codec';
import type { ProgressFn } from './options.js';

const UPLOAD_CHUNK = 64 * 1024;
/** Statuses whose responses have no body (a `Response` with one cannot be built). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Wraps `base` so that `onProgress` sees the response body's bytes as they arrive (`direction: 'down'`) or the
 * request body's bytes as they are sent (`'up'`).
 * @example
 * ```ts
 * const f = progressFetch(fetch, (done, total) => console.log(done, total), 'down');
 * const bytes = new Uint8Array(await (await f(url)).arrayBuffer());
 * ```
 */
export function progressFetch(base: FetchLike, onProgress: ProgressFn, direction: 'up' | 'down'): FetchLike {
  if (direction === 'up') {
    return (url, init) => {
      const raw = init?.body;
      if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) return base(url, init);
      const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
      let sent = 0;
      onProgress(0, bytes.byteLength);
      const body = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (sent >= bytes.byteLength) return ctl.close();
          const chunk = bytes.subarray(sent, sent + UPLOAD_CHUNK);
          sent += chunk.byteLength;
          ctl.enqueue(chunk);
          onProgress(sent, bytes.byteLength);
        },
      });
      // `duplex: 'half'` is how fetch takes a streamed request body (the Fetch standard's RequestInit.duplex).
      return base(url, { ...init, body, duplex: 'half' } as RequestInit);
    };
  }
  return async (url, init) => {
    const res = await base(url, init);
    if (!res.body || NULL_BODY.has(res.status)) return res;
    const declared = Number(res.headers.get('content-length'));
    const total = Number.isFinite(declared) && declared > 0 ? declared : null;
    let done = 0;
    onProgress(0, total);
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          done += chunk.byteLength;
          onProgress(done, total);
          ctl.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
