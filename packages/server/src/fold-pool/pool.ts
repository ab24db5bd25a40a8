/**
 * The fold pool: `worker_threads` (one per core by default) that inflate and validate update frames and compute
 * their stats, so one combiner process uses every core of its host while its event loop stays free for
 * sockets. The accumulation itself (`acc += w * x`, ~1 ms per 1M int8 values) stays on the calling thread, in
 * the order the folds are called, so the running sum is bit-for-bit the single-thread fold's whatever order the
 * workers finish in. Workers start on the first parse. Each parse gets a timeout; a worker that dies or hangs is replaced and its jobs are
 * rejected (`WORKER_DIED`, `TIMEOUT`), and the fold tools then parse on the calling thread instead.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fedError, type FedError, type FrameLimits, type FrameStats, type ParsedFrame } from '@fedweb/codec';
import { ParseReplySchema, type ParseRequest } from './protocol.js';

export interface FoldPoolOptions {
  /** Worker threads (default: the cores, `os.availableParallelism()`). */
  size?: number;
  /** A parse not answered within this fails with TIMEOUT and its worker is replaced (default 30 s). */
  timeoutMs?: number;
}

/** What a worker returns for one frame. */
export interface PoolParse {
  parsed: ParsedFrame;
  stats: FrameStats;
}

interface Job {
  resolve(r: PoolParse): void;
  reject(e: FedError): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
}

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/**
 * A pool of frame-parsing workers.
 * @example
 * ```ts
 * const pool = new FoldPool();
 * const { parsed, stats } = await pool.parse(frame, limits); // inflated + validated off the event loop
 * foldParsed(acc, parsed, weight);                            // accumulated here, in call order
 * await pool.close();
 * ```
 */
export class FoldPool {
  readonly size: number;
  private readonly timeoutMs: number;
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(opts: FoldPoolOptions = {}) {
    const size = opts.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1 || size > 256) throw fedError('BAD_CONFIG', `fold pool size must be an integer in [1, 256], got ${size}`);
    this.size = size;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Jobs waiting for or running on a worker. */
  get pending(): number {
    return this.slots.reduce((n, s) => n + s.jobs.size, 0);
  }

  /**
   * Inflates and validates `frame` on the least busy worker (the bytes are copied; `frame` stays usable). Rejects
   * with the frame's FedError (`BAD_FRAME`, `NON_FINITE`, ...), or `WORKER_DIED` / `TIMEOUT` / `UNAVAILABLE`.
   */
  parse(frame: Uint8Array, limits?: Partial<FrameLimits>): Promise<PoolParse> {
    if (this.closed) return Promise.reject(fedError('UNAVAILABLE', 'the fold pool is closed'));
    // Workers start on first use: a combiner that never receives an update never pays for them.
    while (this.slots.length < this.size) this.slots.push(this.spawn());
    const slot = this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.nextId++;
    const copy = frame.slice();
    return new Promise<PoolParse>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(fedError('TIMEOUT', `a fold worker took more than ${this.timeoutMs} ms to parse an update`));
        slot.jobs.delete(id);
        this.replace(slot, fedError('TIMEOUT', 'a fold worker was replaced after a timeout'));
      }, this.timeoutMs);
      slot.jobs.set(id, { resolve, reject, timer });
      const req: ParseRequest = { id, frame: copy, ...(limits ? { limits } : {}) };
      slot.worker.postMessage(req, [copy.buffer as ArrayBuffer]);
    });
  }

  /** Terminates every worker; pending parses fail with UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = fedError('UNAVAILABLE', 'the fold pool closed');
    await Promise.all(
      this.slots.map((s) => {
        this.failAll(s, err);
        return s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(ENTRY, { name: 'fedweb-fold' });
    const slot: Slot = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (raw: unknown) => this.answer(slot, raw));
    worker.on('error', (e) => this.replace(slot, fedError('WORKER_DIED', `a fold worker failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.replace(slot, fedError('WORKER_DIED', `a fold worker exited (code ${code})`));
    });
    return slot;
  }

  private answer(slot: Slot, raw: unknown): void {
    const reply = ParseReplySchema.safeParse(raw);
    if (!reply.success) return this.replace(slot, fedError('INTERNAL', 'a fold worker sent a malformed reply'));
    const job = slot.jobs.get(reply.data.id);
    if (!job) return;
    slot.jobs.delete(reply.data.id);
    clearTimeout(job.timer);
    if (reply.data.ok) job.resolve({ parsed: reply.data.parsed, stats: reply.data.stats });
    else job.reject(fedError(reply.data.code, reply.data.message));
  }

  private failAll(slot: Slot, err: FedError): void {
    for (const job of slot.jobs.values()) {
      clearTimeout(job.timer);
      job.reject(err);
    }
    slot.jobs.clear();
  }

  /** Fails the slot's jobs and puts a fresh worker in its place (once per slot: later events of the old one are ignored). */
  private replace(slot: Slot, err: FedError): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.failAll(slot, err);
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
    if (this.closed) this.slots.splice(i, 1);
    else this.slots[i] = this.spawn();
  }
}
