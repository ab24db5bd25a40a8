/**
 * A small typed event emitter. Handlers are isolated: a handler that throws is reported to `onHandlerError`
 * (never re-thrown into the protocol code that emitted the event).
 */

/**
 * Typed emitter over an event map `{ name: payload }`.
 * @example
 * ```ts
 * const e = new TypedEmitter<{ tick: number }>();
 * const off = e.on('tick', (n) => console.log(n));
 * e.emit('tick', 1);
 * off();
 * ```
 */
export class TypedEmitter<M extends { [K in keyof M]: unknown }> {
  readonly #handlers = new Map<keyof M, Set<(payload: never) => void>>();

  constructor(private readonly onHandlerError: (error: unknown, event: keyof M) => void = () => {}) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof M>(event: K, handler: (payload: M[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => {
      set.delete(handler as (payload: never) => void);
    };
  }

  /** Subscribes for one event only; returns the unsubscribe function. */
  once<K extends keyof M>(event: K, handler: (payload: M[K]) => void): () => void {
    const off = this.on(event, (p) => {
      off();
      handler(p);
    });
    return off;
  }

  /** Number of handlers for `event`. */
  listenerCount(event: keyof M): number {
    return this.#handlers.get(event)?.size ?? 0;
  }

  emit<K extends keyof M>(event: K, payload: M[K]): void {
    const set = this.#handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        (h as (payload: M[K]) => void)(payload);
      } catch (e) {
        try {
          this.onHandlerError(e, event);
        } catch {
          // The error reporter itself failed: nothing sensible left to do, and throwing would break the emitter.
        }
      }
    }
  }

  removeAll(): void {
    this.#handlers.clear();
  }
}
