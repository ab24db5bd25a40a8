/**
 * Sending a trained update: `update`, then the frame's chunks paced by the socket's buffer, then waiting for
 * `update.ack` or a typed refusal. The update stays cached until the combiner acknowledges it or refuses it for
 * good, so a cut or a reload resumes it; retryable refusals are retried on the same connection.
 */
import { PROTOCOL_VERSION, fedError, splitIntoChunks, toFedError, type FedError, type Message } from '@fedweb/codec';
import type { PendingUpdate } from '../cache/types.js';
import { requireCache, type ClientContext } from './context.js';
import { FATAL_CODES } from './fatal.js';

/** Upload attempts on one connection for retryable refusals (HASH_MISMATCH, BAD_CHUNK, TIMEOUT). */
const MAX_UPLOAD_ATTEMPTS = 3;
/** Pace chunk sends: wait while more than this is queued in the socket. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * What the uploader tells its owner.
 * @example
 * ```ts
 * const hooks: UploaderHooks = { fail: (e) => client.fail(e), settled: () => maybeIdle() };
 * ```
 */
export interface UploaderHooks {
  /** A refusal retrying cannot fix (e.g. `UNAUTHORIZED`): the client stops. */
  fail(err: FedError): void;
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
    void this.ctx.cache()?.deletePendingUpdate(this.ctx.clientId(), uploadId).catch(() => {});
  }

  /** The combiner counted `p`: it leaves the cache and the round is `acknowledged`. */
  async #acknowledged(p: PendingUpdate): Promise<void> {
    await requireCache(this.ctx).deletePendingUpdate(p.clientId, p.uploadId);
    this.ctx.reporter.emit('round', { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train', phase: 'acknowledged', bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes });
  }

  async #run(p: PendingUpdate, signal: AbortSignal): Promise<void> {
    const { reporter, timeouts } = this.ctx;
    const cache = requireCache(this.ctx);
    const base = { roundId: p.roundId, taskId: p.taskId, sessionId: p.sessionId, task: 'train' as const, bytes: p.bytes.byteLength, f32Bytes: p.f32Bytes };
    for (let attempt = 1; ; attempt++) {
      const conn = this.ctx.connection();
      if (!conn?.isOpen) {
        reporter.emit('round', { ...base, phase: 'deferred', error: fedError('UNAVAILABLE', 'not connected; the update is kept and uploaded after reconnecting if its round is still open') });
        return;
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
        if (err.code === 'TIMEOUT' && attempt < MAX_UPLOAD_ATTEMPTS) continue;
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
      if (err.retryable && attempt < MAX_UPLOAD_ATTEMPTS) continue;
      // A decision of the server (STALE_ROUND, NOT_SELECTED, SHAPE_MISMATCH, ...): respect it, drop the update.
      await cache.deletePendingUpdate(p.clientId, p.uploadId);
      reporter.error(err);
      reporter.emit('round', { ...base, phase: 'refused', error: err });
      if (FATAL_CODES.has(err.code)) this.hooks.fail(err);
      return;
    }
  }
}
