/**
 * Admission: every check an update passes before it touches a running sum, in one path for the synchronous
 * round part and the asynchronous stream (both are a {@link Collector}). In order:
 *
 *  1. announced (`update`): sender, selection and task (the collector's rules), duplicate, staleness, the
 *     announced size against the limit derived from the model, the chunk plan;
 *  2. its chunks reassembled (bounded; see uploads.ts);
 *  3. the whole frame: SHA-256 (computed as its chunks arrived) against the announced one, the collector still open, duplicate again;
 *  4. in a fold slot: staleness again (an async stream may have moved on); the update parsed ONCE (inflated and
 *     validated, on a fold-pool worker when the combiner has one: names, shapes, finiteness against the layout); its claim and norm recorded for the next round's bounds; the L2 norm
 *     bound (refuse, or clip by the round's option); its weight capped (min(numExamples, exampleCap)); a
 *     check that the running sum cannot overflow float32 with it (`Tally.magnitude`, else refused: the partial
 *     is never lost);
 *     then the fold, which accumulates that same parse (codec `foldParsed`; no second inflate).
 *
 * A refusal is typed (`error` with the upload's id). Refusals the sender may repair (a damaged upload) count
 * against its `maxUploadAttempts`; once used up, the collector excludes it. FEDn's combiner likewise validates
 * each model update (`on_model_update`) before its aggregator takes it in
 * (https://docs.scaleoutsystems.com/en/stable/aggregators.html).
 */
import { encodeFrame, fedError, layoutSize, toFedError, type Compressor, type FedError, type MessageOf, type TensorSpec } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { MetricMeans } from '../reducer/metrics.js';
import { UpdateStats } from '../reducer/update-stats.js';
import { createFoldTools, type FrameParser } from '../strategy/index.js';
import type { FoldTools } from '../strategy/types.js';
import { sendClientError, type ClientConn } from './clients.js';
import type { FoldSlots, UploadBuffer } from './uploads.js';

/** The bounds an update is checked against, derived once from the model's layout. */
export interface UpdateLimits {
  /** Parameters in the model (the codec's `layoutSize`). */
  paramCount: number;
  /** Largest update frame accepted (bytes). */
  maxUploadBytes: number;
  /** Largest L2 norm of an update's delta, if the round bounds it (`round.start.maxUpdateNorm`). */
  maxUpdateNorm: number | undefined;
  /** Updates above `maxUpdateNorm` are scaled down to it instead of refused. */
  clipUpdateNorm: boolean;
  /** An update's weight is min(numExamples, exampleCap) (`round.start.exampleCap`; undefined = uncapped). */
  exampleCap: number | undefined;
  /** Decodes and folds frames, validating them against the layout and these bounds. */
  tools: FoldTools;
}

/**
 * The limits for updates to a model of `layout`: an f32 delta plus an optional same-size extra (SCAFFOLD's
 * control variate) at worst, plus headers; capped by `configuredMax` (default 512 MiB).
 * @example
 * ```ts
 * const limits = updateLimits(layout, { compressor: nodeZlibCompressor, maxUpdateNorm: 10 });
 * limits.paramCount; // layoutSize(layout)
 * ```
 */
export function updateLimits(
  layout: TensorSpec[],
  opts: { compressor: Compressor; configuredMax?: number; maxUpdateNorm?: number; clipUpdateNorm?: boolean; exampleCap?: number; parser?: FrameParser },
): UpdateLimits {
  const paramCount = layoutSize(layout);
  const maxUploadBytes = Math.min(opts.configuredMax ?? 512 * 1024 * 1024, Math.ceil(paramCount * 8.5) + 1024 * 1024);
  const limits = { maxFrameBytes: maxUploadBytes, maxBodyBytes: paramCount * 8 + 1024 * 1024, maxElements: paramCount * 2 + 16, maxTensors: layout.length * 2 + 16 };
  return {
    paramCount,
    maxUploadBytes,
    maxUpdateNorm: opts.maxUpdateNorm,
    clipUpdateNorm: opts.clipUpdateNorm ?? false,
    exampleCap: opts.exampleCap,
    tools: createFoldTools({ layout, compressor: opts.compressor, limits, ...(opts.parser ? { parser: opts.parser } : {}) }),
  };
}

/**
 * What a collector counts between two partials: refusals, the first and last fold, the example-weighted
 * means of the training metrics clients reported, and the claims and norms of the updates it decoded (all sent
 * with the partial).
 * @example
 * ```ts
 * const tally = new Tally();
 * tally.counted(updateMsg);
 * tally.metrics.means(); // { loss: 0.4 }
 * ```
 */
export class Tally {
  refused = 0;
  refusedStale = 0;
  firstUpdateAt: number | null = null;
  lastUpdateAt: number | null = null;
  readonly metrics = new MetricMeans();
  readonly stats = new UpdateStats();
  /**
   * An upper bound on any magnitude in the running sum: Σ max(1, weight) x max|Δ| over the updates let through
   * to the fold (reserved before the fold, so concurrent folds are counted too).
   */
  magnitude = 0;

  /** An update was folded in (`msg.numExamples` is its weight after the cap). */
  counted(msg: MessageOf<'update'>): void {
    const now = Date.now();
    this.firstUpdateAt ??= now;
    this.lastUpdateAt = now;
    this.metrics.add(msg.metrics, msg.numExamples);
  }
}

/**
 * A refusal that does not count against the sender's attempts: `tally` names the counter it bumps, `followUp`
 * runs after the error is sent (an async stream hands out a fresh task).
 */
export interface Refusal {
  err: FedError;
  tally?: 'refused' | 'refusedStale';
  followUp?: () => void;
}

/** What updates are folded into: the sync round part or the async stream. */
export interface Collector {
  readonly limits: UpdateLimits;
  readonly tally: Tally;
  /** The round or stream id (for logs). */
  readonly id: string;
  /** Sender, selection and task rules, checked when the update is announced. */
  checkSender(clientId: string, msg: MessageOf<'update'>): Refusal | null;
  /** Still open for this update once its frame arrived (a round may close, a task may end during an upload). */
  checkOpen(clientId: string, msg: MessageOf<'update'>): Refusal | null;
  /** An update of this client is already counted or being folded. */
  checkDuplicate(clientId: string, msg: MessageOf<'update'>): Refusal | null;
  /** The update's base model is too old to be folded (async; a sync round's staleness is its round id). */
  checkStaleness(clientId: string, msg: MessageOf<'update'>, conn: ClientConn): Refusal | null;
  /** A `STALE_ROUND` thrown by the fold: the collector's own answer, or null to count it as an attempt. */
  staleRefusal(clientId: string, msg: MessageOf<'update'>, conn: ClientConn): Refusal | null;
  /** Counts one refused upload of `clientId` and returns its attempts so far. */
  countAttempt(clientId: string, msg: MessageOf<'update'>): number;
  /** `clientId` used its attempts (or was refused for good): it is out. */
  exclude(conn: ClientConn, clientId: string, msg: MessageOf<'update'>, err: FedError, attempts: number): void;
  /** A fold of `clientId` starts / ended (either way). */
  beginFold(clientId: string): void;
  endFold(clientId: string): void;
  /** Folds the frame into the running sum; a refusal when the collector closed meanwhile. */
  fold(clientId: string, msg: MessageOf<'update'>, frame: Uint8Array): Promise<Refusal | null>;
  /** The update was counted and acknowledged. */
  accepted(conn: ClientConn, clientId: string, msg: MessageOf<'update'>): void;
}

export interface AdmissionOptions {
  log: Logger;
  uploads: UploadBuffer;
  slots: FoldSlots;
  maxUploadAttempts: number;
  /** The collector an update is for: the async stream that issued its task, else the open round part. */
  collectorFor(msg: MessageOf<'update'>): Collector | null;
  /** An update of this client was counted (the client list marks it as a contributor). */
  counted?(conn: ClientConn): void;
  /** Told of every frame received, update counted and refusal (metrics/). */
  observer?: AdmissionObserver;
}

/** What admission reports (the metrics hook): frames received, updates counted, refusals by code. */
export interface AdmissionObserver {
  /** A whole update frame arrived (its bytes). */
  received(bytes: number): void;
  /** An update of `clientId` was counted; its checks and fold took `foldSeconds`. */
  counted(foldSeconds: number, clientId: string): void;
  /** An update was refused with this code. */
  refused(code: string): void;
}

/**
 * The one admission path.
 * @example
 * ```ts
 * const admission = new Admission({ log, uploads, slots, maxUploadAttempts: 3, collectorFor });
 * admission.announced(conn, updateMsg); // then, per binary message:
 * admission.chunk(conn, bytes);
 * ```
 */
export class Admission {
  constructor(private readonly opts: AdmissionOptions) {}

  /** An `update` message: the checks before any of its bytes are taken. */
  announced(conn: ClientConn, msg: MessageOf<'update'>): void {
    const clientId = conn.clientId as string;
    const c = this.opts.collectorFor(msg);
    if (!c) {
      this.opts.log.info({ clientId, reqId: conn.reqId, roundId: msg.roundId }, 'stale update refused');
      return this.refuse(conn, fedError('STALE_ROUND', `round ${msg.roundId} is closed or unknown`), msg.uploadId);
    }
    const refusal = c.checkSender(clientId, msg) ?? c.checkDuplicate(clientId, msg) ?? c.checkStaleness(clientId, msg, conn);
    if (refusal) return this.reply(c, conn, refusal, msg.uploadId);
    const max = c.limits.maxUploadBytes;
    if (msg.byteLength > max) return this.refuseAttempt(c, conn, clientId, msg, fedError('FRAME_TOO_LARGE', `update is ${msg.byteLength} bytes, limit ${max}`));
    try {
      this.opts.uploads.begin(conn, msg, max);
    } catch (e) {
      const err = toFedError(e, 'BAD_MESSAGE');
      // The in-flight budget is full for now: not the sender's fault, so not one of its attempts.
      if (err.code === 'UNAVAILABLE') return this.reply(c, conn, { err, tally: 'refused' }, msg.uploadId);
      this.refuseAttempt(c, conn, clientId, msg, err);
    }
  }

  /** A binary message: the next chunk of the socket's upload; the last one starts the frame's checks. */
  chunk(conn: ClientConn, bytes: Uint8Array): void {
    const r = this.opts.uploads.push(conn, bytes);
    if (r.kind === 'more') return;
    if (r.kind === 'bad') {
      if (!r.msg) return this.refuse(conn, r.err);
      return this.refuseIfOpen(conn, r.msg, r.err, 'bad chunk');
    }
    void this.received(conn, r.msg, r.frame, r.sha256).finally(() => this.opts.uploads.release(conn, r.held));
  }

  private async received(conn: ClientConn, msg: MessageOf<'update'>, frame: Uint8Array, sha256: string): Promise<void> {
    const clientId = conn.clientId as string;
    this.opts.observer?.received(frame.byteLength);
    // Hashed while the chunks arrived (uploads.ts).
    if (sha256 !== msg.sha256) {
      // Retryable (the bytes may have been damaged on the way), but bounded by the sender's attempts.
      return this.refuseIfOpen(conn, msg, fedError('HASH_MISMATCH', 'SHA-256 of the received frame differs from the announced one'), 'update hash mismatch');
    }
    const c = this.opts.collectorFor(msg);
    if (!c) return this.refuse(conn, fedError('STALE_ROUND', `round ${msg.roundId} closed before the upload completed`), msg.uploadId);
    const refusal = c.checkOpen(clientId, msg) ?? c.checkDuplicate(clientId, msg);
    if (refusal) return this.reply(c, conn, refusal, msg.uploadId);
    c.beginFold(clientId);
    await this.opts.slots.acquire();
    const started = performance.now();
    try {
      const stale = c.checkStaleness(clientId, msg, conn);
      if (stale) return this.reply(c, conn, stale, msg.uploadId);
      const screened = await screen(c, msg, frame);
      const closed = await c.fold(clientId, screened.msg, screened.frame);
      if (closed) return this.reply(c, conn, closed, msg.uploadId);
      c.tally.counted(screened.msg);
      this.opts.observer?.counted((performance.now() - started) / 1000, clientId);
      conn.peer.send({ v: 2, kind: 'update.ack', uploadId: msg.uploadId, roundId: msg.roundId });
      c.accepted(conn, clientId, msg);
      this.opts.counted?.(conn);
    } catch (e) {
      const err = toFedError(e, 'BAD_FRAME');
      const stale = err.code === 'STALE_ROUND' ? c.staleRefusal(clientId, msg, conn) : null;
      if (stale) this.reply(c, conn, stale, msg.uploadId);
      else this.refuseAttempt(c, conn, clientId, msg, err);
    } finally {
      this.opts.slots.release();
      c.endFold(clientId);
    }
  }

  /** A damaged upload: an attempt against the collector it is for, if that is still open for it. */
  private refuseIfOpen(conn: ClientConn, msg: MessageOf<'update'>, err: FedError, what: string): void {
    const clientId = conn.clientId as string;
    const c = this.opts.collectorFor(msg);
    if (c && !c.checkOpen(clientId, msg)) return this.refuseAttempt(c, conn, clientId, msg, err);
    this.opts.log.warn({ clientId, reqId: conn.reqId, code: err.code }, `${what}: ${err.message}`);
    this.refuse(conn, err, msg.uploadId);
  }

  /** Every refusal of an upload leaves through here (the observer counts it by code). */
  private refuse(conn: ClientConn, err: FedError, uploadId?: string): void {
    this.opts.observer?.refused(err.code);
    sendClientError(conn, err, uploadId);
  }

  private reply(c: Collector, conn: ClientConn, refusal: Refusal, uploadId: string): void {
    if (refusal.tally) c.tally[refusal.tally] += 1;
    this.refuse(conn, refusal.err, uploadId);
    refusal.followUp?.();
  }

  /**
   * Refuses one upload and counts it against the sender's attempts. A non-retryable refusal excludes the
   * sender at once; a retryable one lets it resend until its attempts are used up.
   */
  private refuseAttempt(c: Collector, conn: ClientConn, clientId: string, msg: MessageOf<'update'>, err: FedError): void {
    const attempts = c.countAttempt(clientId, msg);
    c.tally.refused += 1;
    this.opts.log.warn({ clientId, reqId: conn.reqId, code: err.code, roundId: c.id, attempts }, `update refused: ${err.message}`);
    this.refuse(conn, err, msg.uploadId);
    if (err.retryable && attempts < this.opts.maxUploadAttempts) return;
    c.exclude(conn, clientId, msg, err, attempts);
  }
}

/**
 * Running sums stay below this magnitude (2^112, about 5e33; float32 ends near 3.4e38 = 2^128): a partial can be
 * merged with up to 65536 others on the reducer and still be finite.
 */
export const SUM_LIMIT = 2 ** 112;

/**
 * Decodes an update and applies the value bounds: its claim and norm go to the tally; above the norm bound it
 * is refused (NORM_EXCEEDED) or clipped (re-encoded, scaled to the bound); its weight is capped; and it is
 * refused (NON_FINITE) if folding it could overflow the running sum. Returns the message with the capped weight
 * as `numExamples` and the frame to fold.
 */
async function screen(c: Collector, msg: MessageOf<'update'>, frame: Uint8Array): Promise<{ msg: MessageOf<'update'>; frame: Uint8Array }> {
  const { tools, maxUpdateNorm, clipUpdateNorm, exampleCap } = c.limits;
  // Read from the payload (int8 blocks through their scales): no f32 copy of the update on the hot path.
  const stats = await tools.stats(frame); // NON_FINITE for NaN or Infinity, SHAPE_MISMATCH
  let maxAbs = stats.maxAbs;
  const norm = Math.sqrt(stats.sumSq);
  c.tally.stats.add(msg.numExamples, norm);
  if (maxUpdateNorm !== undefined && norm > maxUpdateNorm) {
    if (!clipUpdateNorm) throw fedError('NORM_EXCEEDED', `update L2 norm ${norm.toPrecision(4)} exceeds ${maxUpdateNorm.toPrecision(4)}`);
    const tensors = await tools.decode(frame);
    const scale = maxUpdateNorm / norm;
    for (const t of tensors) for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * scale;
    frame = await encodeFrame(tensors, { encoding: 'f32' });
    maxAbs *= scale;
  }
  const weight = exampleCap !== undefined ? Math.min(msg.numExamples, exampleCap) : msg.numExamples;
  const adds = Math.max(1, weight) * maxAbs;
  if (!(c.tally.magnitude + adds <= SUM_LIMIT)) {
    throw fedError('NON_FINITE', `folding an update of magnitude ${maxAbs.toPrecision(3)} with weight ${weight} could overflow the running sum; refused`);
  }
  c.tally.magnitude += adds;
  return { msg: weight === msg.numExamples ? msg : { ...msg, numExamples: weight }, frame };
}
