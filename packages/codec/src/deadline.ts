/**
 * Timeouts and cancellation for an await that crosses a boundary (network, worker, storage): the timer is
 * cleared and the abort listener removed in `finally`, whichever way the race ends, so nothing leaks. Pure
 * web-platform code (AbortController, setTimeout), for browsers, workers and Node alike.
 */
import { fedError, toFedError, type FedError } from './errors.js';

/**
 * The reason an aborted signal carries, as a {@link FedError} (`ABORTED` unless the reason already is one).
 * @example
 * ```ts
 * if (signal.aborted) throw abortReason(signal);
 * ```
 */
export function abortReason(signal: AbortSignal): FedError {
  const r: unknown = signal.reason;
  if (r === undefined) return fedError('ABORTED', 'the operation was aborted');
  return toFedError(r, 'ABORTED');
}

/**
 * Resolves `work` (a promise, or a function given a signal that aborts on timeout) within `ms` milliseconds.
 * On timeout rejects with `TIMEOUT` naming `what`; on `signal` abort rejects with its reason. The timer is
 * always cleared, and `work` ends even if it ignores its signal (the race settles without it).
 * @example
 * ```ts
 * const res = await withTimeout((s) => fetch(url, { signal: s }), 10_000, 'GET /api/models/m1', stopSignal);
 * ```
 */
export async function withTimeout<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw abortReason(signal);
  const inner = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const p = typeof work === 'function' ? work(inner.signal) : work;
    return await new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => {
        const e = fedError('TIMEOUT', `${what} did not finish within ${ms} ms; check the network and the server, it will be retried`);
        inner.abort(e);
        reject(e);
      }, ms);
      if (signal) {
        onAbort = () => {
          const e = abortReason(signal);
          inner.abort(e);
          reject(e);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      p.then(resolve, reject);
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort && signal) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Waits `ms` milliseconds, or rejects with the signal's reason as soon as it aborts.
 * @example
 * ```ts
 * await sleep(backoff.next(), stopSignal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
