/**
 * A FIFO the async engine awaits with a timeout and an abort signal (one reader): combiners' forwarded partials
 * are pushed from socket handlers and read by the version loop in arrival order.
 */

/**
 * A single-reader event queue.
 * @example
 * ```ts
 * const q = new EventQueue<number>();
 * q.push(1);
 * await q.next(1000, signal); // 1 (or null after 1 s without one, 'aborted' when signal fires)
 * ```
 */
export class EventQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | null = null;

  push(item: T): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(item);
    } else this.items.push(item);
  }

  /** The next item, `null` after `timeoutMs` without one, `'aborted'` when the signal fires. */
  next(timeoutMs: number, signal: AbortSignal): Promise<T | null | 'aborted'> {
    if (signal.aborted) return Promise.resolve('aborted');
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => {
      const done = (v: T | null | 'aborted'): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = null;
        resolve(v);
      };
      const onAbort = (): void => done('aborted');
      const timer = setTimeout(() => done(null), timeoutMs);
      this.waiter = (item) => done(item);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
