/**
 * Tracks every pending trainer call so that, when the trainer dies (worker `error` event, `terminate()`),
 * each one rejects with `WORKER_DIED` instead of hanging forever (comlink alone never rejects them).
 * Errors crossing the worker boundary travel as plain `{ fedError: { code, message } }` objects (comlink keeps
 * only `message` of an Error) and become {@link FedError}s again here.
 */
import { ERROR_CODES, FedError, fedError, toFedError, type ErrorCode } from '@fedweb/codec';

/** The wire form of an error thrown inside the worker. */
export interface WireError {
  fedError: { code: ErrorCode; message: string };
}

/** Turns anything thrown in the worker into a structured-cloneable {@link WireError}. */
export function toWireError(e: unknown): WireError {
  const fe = toFedError(e);
  return { fedError: { code: fe.code, message: fe.message } };
}

/** Turns a rejection from the worker back into a {@link FedError}. */
export function fromWireError(e: unknown): FedError {
  if (e && typeof e === 'object' && 'fedError' in e) {
    const w = (e as WireError).fedError;
    if (w && typeof w.code === 'string' && w.code in ERROR_CODES) return fedError(w.code, String(w.message));
  }
  return toFedError(e);
}

/** A call tracker: `run` wraps a call; `kill` rejects every pending call and all later ones. */
export interface CallGuard {
  run<T>(call: () => Promise<T>): Promise<T>;
  kill(message: string): void;
  readonly dead: FedError | null;
  readonly pending: number;
}

/**
 * Creates a {@link CallGuard}.
 *
 * @example
 * ```ts
 * const guard = createCallGuard();
 * worker.addEventListener('error', (ev) => guard.kill(`worker error: ${ev.message}`));
 * const report = await guard.run(() => remote.loadPackage(code, manifest));
 * ```
 */
export function createCallGuard(): CallGuard {
  const pending = new Set<(e: FedError) => void>();
  let dead: FedError | null = null;
  return {
    run<T>(call: () => Promise<T>): Promise<T> {
      if (dead) return Promise.reject(dead);
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const fail = (e: FedError) => {
          if (settled) return;
          settled = true;
          reject(e);
        };
        pending.add(fail);
        let p: Promise<T>;
        try {
          p = call();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (v) => {
            pending.delete(fail);
            if (!settled) {
              settled = true;
              resolve(v);
            }
          },
          (e: unknown) => {
            pending.delete(fail);
            fail(dead ?? fromWireError(e));
          },
        );
      });
    },
    kill(message: string) {
      if (!dead) dead = fedError('WORKER_DIED', `${message}; create a new trainer (FedClient restarts it and resumes)`);
      const err = dead;
      for (const f of [...pending]) f(err);
      pending.clear();
    },
    get dead() {
      return dead;
    },
    get pending() {
      return pending.size;
    },
  };
}
