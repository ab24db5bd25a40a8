/**
 * Sending a trained update: `update`, then the frame's chunks paced by the socket's buffer, then waiting for
 * `update.ack` or a typed refusal. The update stays cached until the combiner acknowledges it or refuses it for
 * good, so a cut or a reload resumes it. Every attempt (on this connection or after a reconnect) counts against
 * `limits.uploadAttempts`, and attempts after the first wait a backoff: a combiner that cuts every upload gets a
 * bounded number of them, then the update is dropped and the combiner told so.
 */
import { PROTOCOL_VERSION, backoffDelay, fedError, splitIntoChunks, toFedError, type FedError, type Message } from '@fedweb/codec';
import type { PendingUpdate } from '../cache/types.js';
import { sleep } from './abort.js';
import { requireCache, type ClientContext } from './context.js';
import { PERMANENT_CODES } from './fatal.js';

/** Pace chunk sends: wait while more than this is queued in the socket. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Upload ids whose attempt counts are remembered (one pending update at a time; a few for races). */
const MAX_TRACKED_UPLOADS = 16;

/**
 * What the uploader tells its owner.
 * @example
 * ```ts
 * const hooks: UploaderHooks = { rejoin: (e) => session.close(e.message), settled: () => maybeIdle() };
 * ```
 */
export interface UploaderHooks {
  /** The combiner refused an upload with an auth or version code: join again, where `hello` decides. */
  rejoin(err: FedError): void;
  /** An upload ended (acknowledged, refused or deferred). */
  settled(): void;
}

/**
 * Uploads pending updates, one run per upload id.
 * @example
 * ```ts
 * const uploader = new Uploader(ctx, { fail, settled });
 * await uploader.upload(pendingUpdate, signal);
 * ```
 */
export class Uploader {
  readonly #inflight = new Map<string, Promise<void>>();
  /** Attempts per upload id, across reconnects (bounded by `limits.uploadAttempts`). */
  readonly #attempts = new Map<string, number>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly hooks: UploaderHooks,
  ) {}

  /** True while no upload runs. */
  get idle(): boolean {
    return this.#inflight.size === 0;
  }

  /** True while the upload `uploadId` runs. */
  isUploading(uploadId: string): boolean {
    return this.#inflight.has(uploadId);
  }

  /**
   * Uploads `p` and resolves when it is over: acknowledged (or already counted: `DUPLICATE_UPDATE`), refused for
   * good, or deferred (not connected: kept for the next welcome that says its round is open). While the same
   * upload runs already (a resume after a reconnect and the re-sent task both asking), joins that run.
   */
  upload(p: PendingUpdate, signal: AbortSignal): Promise<void> {
    const running = this.#inflight.get(p.uploadId);
    if (running) return running;
    const run = this.#run(p, signal).finally(() => {
      this.#inflight.delete(p.uploadId);
      this.hooks.settled();
    });
    this.#inflight.set(p.uploadId, run);
    return run;
  }

  /**
   * Uploads an update trained before a reload, a restart or a cut (read from the cache), announcing the round
   * as `resumed` first unless that upload runs already (then this joins it).
   */
  resume(p: PendingUpdate, signal: AbortSignal): Promise<void> {
    if (!this.#inflight.has(p.uploadId)) {
      this.ctx.reporter.emit('round', { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train', phase: 'resumed', bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes });
    }
    return this.upload(p, signal);
  }

  /**
   * The combiner says (`welcome.countedRoundId`) it counted this update already: its ack was lost in a cut.
   * Acknowledged, without uploading it again.
   */
  async counted(p: PendingUpdate): Promise<void> {
    await this.#acknowledged(p);
  }

  /** An ack nobody waits for (it came after our timeout): the update was counted, forget it. */
  lateAck(uploadId: string): void {
    const cache = this.ctx.cache();
    if (!cache) return;
    void (async () => {
      const p = await cache.getPendingUpdate(this.ctx.clientId());
      if (p?.uploadId === uploadId) this.ctx.acknowledged.add(p);
      await cache.deletePendingUpdate(this.ctx.clientId(), uploadId);
    })().catch(() => {});
  }

  /** The combiner counted `p`: it leaves the cache and the round is `acknowledged`. */
  async #acknowledged(p: PendingUpdate): Promise<void> {
    this.#attempts.delete(p.uploadId);
    this.ctx.acknowledged.add(p);
    await requireCache(this.ctx).deletePendingUpdate(p.clientId, p.uploadId);
    this.ctx.reporter.emit('round', { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train', phase: 'acknowledged', bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes });
  }

  /** Counts one more attempt of `uploadId`; returns the count. */
  #countAttempt(uploadId: string): number {
    const n = (this.#attempts.get(uploadId) ?? 0) + 1;
    this.#attempts.delete(uploadId);
    this.#attempts.set(uploadId, n);
    if (this.#attempts.size > MAX_TRACKED_UPLOADS) this.#attempts.delete(this.#attempts.keys().next().value as string);
    return n;
  }

  /** The update is over for good (acknowledged, refused, given up): it leaves the cache and the counts. */
  async #drop(p: PendingUpdate, err: FedError, tellCombiner: boolean): Promise<void> {
    this.#attempts.delete(p.uploadId);
    await requireCache(this.ctx).deletePendingUpdate(p.clientId, p.uploadId);
    this.ctx.reporter.error(err);
    this.ctx.reporter.emit('round', { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train', phase: 'refused', error: err, bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes });
    if (!tellCombiner) return;
    try {
      const conn = this.ctx.connection();
      if (conn?.isOpen) conn.send({ v: PROTOCOL_VERSION, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: p.taskId });
    } catch {
      // Gone: the combiner times the task out.
    }
  }

  async #run(p: PendingUpdate, signal: AbortSignal): Promise<void> {
    const { reporter, timeouts, limits } = this.ctx;
    const base = { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train' as const, bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes };
    for (;;) {
      const conn = this.ctx.connection();
      if (!conn?.isOpen) {
        reporter.emit('round', { ...base, phase: 'deferred', error: fedError('UNAVAILABLE', 'not connected; the update is kept and uploaded after reconnecting if its round is still open') });
        return;
      }
      const attempt = this.#countAttempt(p.uploadId);
      if (attempt > limits.uploadAttempts) {
        const why = `gave up on update ${p.uploadId} for round ${p.roundId} after ${limits.uploadAttempts} upload attempts (limits.uploadAttempts); it is dropped`;
        return this.#drop(p, fedError('UNAVAILABLE', why), true);
      }
      if (attempt > 1) {
        try {
          await sleep(backoffDelay(attempt - 2, this.ctx.options.backoff), signal);
        } catch (e) {
          reporter.emit('round', { ...base, phase: 'deferred', error: toFedError(e) });
          return;
        }
        if (!conn.isOpen) continue;
      }
      reporter.setStatus('uploading');
      const frame = new Uint8Array(p.bytes);
      const chunks = splitIntoChunks(frame, { uploadId: p.uploadId });
      const reply = conn.waitFor(
        (m) => (m.kind === 'update.ack' && m.uploadId === p.uploadId) || (m.kind === 'error' && (m.ref === p.uploadId || m.ref === p.taskId || m.ref === p.roundId)),
        { timeoutMs: timeouts.ackMs, signal, what: `update.ack for upload ${p.uploadId}` },
      );
      reply.catch(() => {});
      let answer: Message;
      try {
        conn.send({
          v: PROTOCOL_VERSION,
          kind: 'update',
          taskId: p.taskId,
          roundId: p.roundId,
          uploadId: p.uploadId,
          numExamples: p.numExamples,
          metrics: p.metrics,
          sha256: p.sha256,
          byteLength: frame.byteLength,
          chunkCount: chunks.length,
          trainMs: p.trainMs,
        });
        for (const chunk of chunks) {
          await conn.drain(MAX_BUFFERED_BYTES, signal);
          conn.sendBinary(chunk);
        }
        reporter.emit('round', { ...base, phase: 'uploaded' });
        answer = await reply;
      } catch (e) {
        const err = toFedError(e);
        if (err.code === 'TIMEOUT' && conn.isOpen && !signal.aborted) continue;
        if (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT' || err.code === 'ABORTED') {
          // Connection lost or stopping: the update stays cached for the next welcome.
          reporter.emit('round', { ...base, phase: 'deferred', error: err });
          return;
        }
        throw err;
      }
      if (answer.kind === 'update.ack') return this.#acknowledged(p);
      if (answer.kind !== 'error') throw fedError('INTERNAL', `unexpected ${answer.kind} while uploading`);
      const err = fedError(answer.code, `the combiner refused update ${p.uploadId} for round ${p.roundId}: ${answer.message}`);
      // Already counted (our ack got lost in a cut): done.
      if (err.code === 'DUPLICATE_UPDATE') return this.#acknowledged(p);
      if (PERMANENT_CODES.has(err.code)) {
        // Not the uploader's to judge: keep the update and join again; the answer to `hello` decides.
        reporter.error(err);
        reporter.emit('round', { ...base, phase: 'deferred', error: err });
        this.hooks.rejoin(err);
        return;
      }
      if (err.retryable) continue;
      // A decision of the server (STALE_ROUND, NOT_SELECTED, SHAPE_MISMATCH, ...): respect it, drop the update.
      return this.#drop(p, err, false);
    }
  }
}
