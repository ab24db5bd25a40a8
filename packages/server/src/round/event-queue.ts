/**
 * A FIFO the async engine awaits with a timeout and an abort signal (one reader): combiners' forwarded partials
 * are pushed from socket handlers and read by the version loop in arrival order. It is bounded: `push` says when
 * it is full, and the producer stops (pauses its socket) until {@link EventQueue.onDrain} calls it back.
 */

/**
 * A single-reader event queue with a capacity.
 * @example
 * ```ts
 * const q = new EventQueue<number>(16);
 * if (!q.push(1)) { socket.pause(); q.onDrain(() => socket.resume()); }
 * await q.next(1000, signal); // 1 (or null after 1 s without one, 'aborted' when signal fires)
 * ```
 */
export class EventQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | null = null;
  private drainWaiters: Array<() => void> = [];

  /** `capacity`: items held before `push` reports the queue full. */
  constructor(readonly capacity = Number.POSITIVE_INFINITY) {}

  /** Items waiting to be read. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Adds an item (it is never dropped). Returns false when the queue is full with it: the producer should
   * stop until {@link EventQueue.onDrain} fires.
   */
  push(item: T): boolean {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(item);
    } else this.items.push(item);
    return this.items.length < this.capacity;
  }

  /** Calls `fn` once the queue is down to half its capacity (at once when it already is). */
  onDrain(fn: () => void): void {
    if (this.items.length <= this.capacity / 2) fn();
    else this.drainWaiters.push(fn);
  }

  /** The next item, `null` after `timeoutMs` without one, `'aborted'` when the signal fires. */
  next(timeoutMs: number, signal: AbortSignal): Promise<T | null | 'aborted'> {
    if (signal.aborted) return Promise.resolve('aborted');
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      if (this.drainWaiters.length > 0 && this.items.length <= this.capacity / 2) {
        for (const fn of this.drainWaiters.splice(0)) fn();
      }
      return Promise.resolve(item);
    }
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
