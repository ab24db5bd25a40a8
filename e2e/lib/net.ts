/**
 * Small process and network helpers for the harness and tests.
 */
import { createServer } from 'node:net';

/**
 * Asks the OS for a free TCP port on 127.0.0.1 (for a child process that must be given a number).
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Polls `check` every `everyMs` until it returns a value other than undefined, or rejects after `timeoutMs`.
 * @example
 * ```ts
 * const status = await waitFor(() => fetchStatus().then((s) => (s.round >= 3 ? s : undefined)), { timeoutMs: 60_000, what: 'round 3' });
 * ```
 */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, opts: { timeoutMs: number; everyMs?: number; what: string }): Promise<T> {
  const end = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 250));
  }
}

/**
 * The median of a list of numbers (named apart from the `median` aggregation strategy) (mean of the middle two for even lengths); NaN when empty.
 * @example
 * ```ts
 * medianOf([3, 1, 2]); // 2
 * medianOf([4, 1, 3, 2]); // 2.5
 * ```
 */
export function medianOf(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
