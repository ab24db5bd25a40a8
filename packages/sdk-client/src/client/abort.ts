/**
 * Timeouts and cancellation for every await that crosses a boundary (network, worker, storage).
 * Each helper clears its timer and removes its abort listener in `finally`, so nothing leaks
 * whichever way the race ends (the pitfall "Promise.race timeouts that never clear their timer"). `abortReason`,
 * `sleep` and `withTimeout` live in `@fedweb/codec` (the server and the HTTP core use them too); `linkedController` is the SDK's.
 */

export { abortReason, sleep, withTimeout } from '@fedweb/codec';

/**
 * A controller that aborts when any of `parents` aborts (with the same reason). Call `dispose()` to detach
 * its listeners once the child is no longer needed, so long-lived parents do not accumulate listeners.
 * @example
 * ```ts
 * const task = linkedController(stopSignal, connectionSignal);
 * try { await run(task.signal); } finally { task.dispose(); }
 * ```
 */
export function linkedController(...parents: (AbortSignal | undefined)[]): AbortController & { dispose(): void } {
  const ctl = new AbortController() as AbortController & { dispose(): void };
  const detach: (() => void)[] = [];
  for (const p of parents) {
    if (!p) continue;
    if (p.aborted) {
      ctl.abort(p.reason);
      break;
    }
    const on = () => ctl.abort(p.reason);
    p.addEventListener('abort', on, { once: true });
    detach.push(() => p.removeEventListener('abort', on));
  }
  ctl.dispose = () => {
    for (const d of detach.splice(0)) d();
  };
  return ctl;
}
