/**
 * Reconnect delays: exponential backoff with "equal jitter" (Brooker, "Exponential Backoff And Jitter",
 * AWS Architecture Blog, 2015). The cap doubles per failed attempt up to `maxMs`; the delay is drawn
 * uniformly from [cap/2, cap], so thousands of clients cut off at once do not reconnect in lockstep,
 * and no client retries with a near-zero delay in a tight loop.
 */

/**
 * BackoffOptions
 * @example
 * ```ts
 * new FedClient({ server, data, backoff: { baseMs: 1000, maxMs: 60_000 } });
 * ```
 */
export interface BackoffOptions {
  /** Delay cap of the first retry, ms (default 500). */
  baseMs?: number;
  /** Largest delay, ms (default 30 000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Uniform [0, 1) source, injectable for tests (default Math.random). */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry).
 * `cap = min(maxMs, baseMs * factor^attempt)`, `delay = cap/2 + random() * cap/2`.
 * @example
 * ```ts
 * backoffDelay(0, { random: () => 0 }); // 250
 * backoffDelay(3, { random: () => 1 }); // 4000 (cap 500 * 2^3)
 * ```
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const random = opts.random ?? Math.random;
  // Clamp the exponent so factor^attempt cannot overflow to Infinity after many failures.
  const cap = Math.min(max, base * Math.pow(factor, Math.min(Math.max(0, attempt), 64)));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(cap / 2 + r * (cap / 2));
}

/**
 * A stateful backoff: `next()` gives the next delay and counts the attempt; `reset()` after a success.
 * @example
 * ```ts
 * const b = new Backoff({ baseMs: 1000 });
 * await sleep(b.next(), signal); // 500..1000 ms
 * b.reset();                     // connected again
 * ```
 */
export class Backoff {
  #attempt = 0;
  constructor(private readonly opts: BackoffOptions = {}) {}

  /** Number of failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    return backoffDelay(this.#attempt++, this.opts);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
