/**
 * The controller's outstanding requests to combiners, and what combiners send back for them: `round.ready`
 * answers, partials (announced, then reassembled from chunks with bounded memory and checked against their
 * SHA-256), `validate.partial` results and errors. A sync round waits on one answer per combiner
 * ({@link CombinerWaits.request}); an async stream listens to every partial of its stream id
 * ({@link CombinerWaits.streamPartials}).
 */
import { ChunkAssembler, fedError, parseChunk, toFedError, type FedError, type MessageOf } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { guard, type Peer } from '../transport.js';

/** What the waits need of a combiner link: its id and its peer. */
export interface CombinerLink {
  id: string;
  peer: Peer;
}

interface PartialUpload {
  meta: MessageOf<'round.partial'>;
  assembler: ChunkAssembler;
}

/** A combiner's partial as the reducer receives it (frame reassembled and SHA-256 checked). */
export interface ReceivedPartial {
  meta: MessageOf<'round.partial'>;
  frame: Uint8Array;
  receivedAt: number;
}

/** A wait's or a stream's result. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: FedError };

/** One outstanding wait of the round loop on a combiner. */
interface Waiter<T> {
  resolve(outcome: Outcome<T>): void;
  /** Partial waits: the largest frame the combiner may announce (see `maxPartialFrameBytes`). */
  maxPartialBytes?: number;
}

/** An async stream's listener and the largest partial frame it takes. */
interface PartialStream {
  listener(outcome: Outcome<ReceivedPartial>): void;
  maxPartialBytes: number;
}

/**
 * The waits of the round loop on combiners, keyed by (combiner id, round or stream id).
 * @example
 * ```ts
 * const waits = new CombinerWaits(log, (id) => registry.get(id));
 * const ready = await waits.request<string[]>('ready', handle, roundId, prepareMsg, 5000, signal);
 * ```
 */
export class CombinerWaits {
  private readonly readyWaits = new Map<string, Waiter<string[]>>();
  private readonly partialWaits = new Map<string, Waiter<ReceivedPartial>>();
  private readonly validationWaits = new Map<string, Waiter<MessageOf<'validate.partial'>>>();
  private readonly uploads = new Map<string, PartialUpload>();
  /** Asynchronous sessions: every partial of (combiner, stream id) goes to a listener instead of one wait. */
  private readonly partialStreams = new Map<string, PartialStream>();

  constructor(
    private readonly log: Logger,
    /** The live link of a combiner id, if any. */
    private readonly liveLink: (combinerId: string) => CombinerLink | undefined,
    private readonly maxPartialBytes = 2 * 1024 * 1024 * 1024 - 1,
  ) {}

  /** `round.ready`: the combiner's eligible clients for `roundId`. */
  ready(link: CombinerLink, roundId: string, eligible: string[]): void {
    this.settle(this.readyWaits, link.id, roundId, { ok: true, value: eligible });
  }

  /** `validate.partial`: the combiner's validation result for `msg.roundId`. */
  validation(link: CombinerLink, msg: MessageOf<'validate.partial'>): void {
    this.settle(this.validationWaits, link.id, msg.roundId, { ok: true, value: msg });
  }

  /** An `error` from a combiner that refers to a round (or stream) `ref`: fails whatever waits on it. */
  combinerError(link: CombinerLink, ref: string, err: FedError): void {
    this.settle(this.readyWaits, link.id, ref, { ok: false, error: err });
    this.settle(this.partialWaits, link.id, ref, { ok: false, error: err });
    this.settle(this.validationWaits, link.id, ref, { ok: false, error: err });
    this.toStream(link.id, ref, { ok: false, error: err });
  }

  /**
   * `round.partial`: a partial is announced; its chunks follow as binary messages. Checked before anything is
   * allocated: the controller must be waiting for a partial of that round (or stream) from this combiner, none
   * of it may be in flight already, and its size must fit the session's model layout (the bound the wait was
   * registered with).
   */
  partialAnnounced(handle: CombinerLink, msg: MessageOf<'round.partial'>): void {
    const key = `${handle.id}\u0000${msg.uploadId}`;
    if (msg.combinerId !== handle.id) {
      handle.peer.send({ v: 2, kind: 'error', code: 'BAD_MESSAGE', message: `partial says combiner ${msg.combinerId}, link is ${handle.id}`, ref: msg.roundId });
      return;
    }
    const waitKey = `${handle.id}\u0000${msg.roundId}`;
    const expected = this.partialStreams.get(waitKey)?.maxPartialBytes ?? this.partialWaits.get(waitKey)?.maxPartialBytes;
    if (expected === undefined) {
      this.log.warn({ combinerId: handle.id, roundId: msg.roundId }, 'unexpected partial refused');
      handle.peer.send({ v: 2, kind: 'error', code: 'BAD_MESSAGE', message: `no partial of ${msg.roundId.slice(0, 200)} is expected from combiner ${handle.id}`, ref: msg.roundId });
      return;
    }
    const limit = Math.min(expected, this.maxPartialBytes);
    if (msg.byteLength > limit || msg.chunkCount === 0) {
      return this.failPartial(handle, msg.roundId, fedError('FRAME_TOO_LARGE', `partial of ${msg.byteLength} bytes in ${msg.chunkCount} chunks refused (at most ${limit} bytes fit this session's model)`));
    }
    if ([...this.uploads.entries()].some(([k, u]) => k.startsWith(`${handle.id}\u0000`) && u.meta.roundId === msg.roundId)) {
      this.dropUploads(handle.id, msg.roundId);
      return this.failPartial(handle, msg.roundId, fedError('BAD_MESSAGE', `combiner ${handle.id} announced a second partial of ${msg.roundId.slice(0, 200)} while one is in flight`));
    }
    try {
      const assembler = new ChunkAssembler({ uploadId: msg.uploadId, chunkCount: msg.chunkCount, totalBytes: msg.byteLength, maxBytes: limit });
      this.uploads.set(key, { meta: msg, assembler });
    } catch (e) {
      this.failPartial(handle, msg.roundId, toFedError(e, 'BAD_MESSAGE'));
    }
  }

  /** Binary data from a combiner: chunks of a partial. */
  chunk(handle: CombinerLink, bytes: Uint8Array): void {
    let chunk;
    try {
      chunk = parseChunk(bytes);
    } catch (e) {
      handle.peer.send({ v: 2, kind: 'error', code: 'BAD_CHUNK', message: toFedError(e).message.slice(0, 2000) });
      return;
    }
    const key = `${handle.id}\u0000${chunk.uploadId}`;
    const upload = this.uploads.get(key);
    if (!upload) {
      handle.peer.send({ v: 2, kind: 'error', code: 'BAD_CHUNK', message: `no partial announced for upload ${chunk.uploadId}`, ref: chunk.uploadId });
      return;
    }
    let frame: Uint8Array | null;
    try {
      frame = upload.assembler.push(bytes);
    } catch (e) {
      this.uploads.delete(key);
      return this.failPartial(handle, upload.meta.roundId, toFedError(e, 'BAD_CHUNK'));
    }
    if (!frame) return;
    this.uploads.delete(key);
    if (upload.meta.sha256 && sha256Node(frame) !== upload.meta.sha256) {
      return this.failPartial(handle, upload.meta.roundId, fedError('HASH_MISMATCH', `partial of ${handle.id} does not match its SHA-256`));
    }
    const received: Outcome<ReceivedPartial> = { ok: true, value: { meta: upload.meta, frame, receivedAt: Date.now() } };
    if (this.toStream(handle.id, upload.meta.roundId, received)) return;
    this.settle(this.partialWaits, handle.id, upload.meta.roundId, received);
  }

  /**
   * A whole partial frame handed over in memory by the embedded combiner (announced as usual, its size checked;
   * no chunks and no SHA-256: it never left this process).
   */
  frame(handle: CombinerLink, uploadId: string, frame: Uint8Array): void {
    const key = `${handle.id}\u0000${uploadId}`;
    const upload = this.uploads.get(key);
    if (!upload) {
      handle.peer.send({ v: 2, kind: 'error', code: 'BAD_CHUNK', message: `no partial announced for upload ${uploadId}`, ref: uploadId });
      return;
    }
    this.uploads.delete(key);
    if (frame.byteLength !== upload.meta.byteLength) {
      return this.failPartial(handle, upload.meta.roundId, fedError('BAD_CHUNK', `partial of ${frame.byteLength} bytes, ${upload.meta.byteLength} announced`));
    }
    const received: Outcome<ReceivedPartial> = { ok: true, value: { meta: upload.meta, frame, receivedAt: Date.now() } };
    if (this.toStream(handle.id, upload.meta.roundId, received)) return;
    this.settle(this.partialWaits, handle.id, upload.meta.roundId, received);
  }

  /** Hands an outcome to the stream listener of (combiner, roundId), if there is one. */
  private toStream(combinerId: string, roundId: string, outcome: Outcome<ReceivedPartial>): boolean {
    const stream = this.partialStreams.get(`${combinerId}\u0000${roundId}`);
    if (!stream) return false;
    guard(this.log, 'partial stream', () => stream.listener(outcome));
    return true;
  }

  /**
   * Asynchronous sessions: delivers EVERY partial `handle` sends for `roundId` (the stream id) to `listener`,
   * and a failure (bad partial, combiner error, combiner gone) as `{ ok: false }`, until the returned function
   * is called. A combiner that disconnects ends its stream after one failure outcome. `maxPartialBytes`: the
   * largest partial frame it may announce.
   * @example
   * ```ts
   * const stop = registry.streamPartials(handle, streamId, (o) => queue.push({ handle, o }), maxPartialFrameBytes(paramCount, 1));
   * ```
   */
  streamPartials(handle: CombinerLink, roundId: string, listener: (outcome: Outcome<ReceivedPartial>) => void, maxPartialBytes = this.maxPartialBytes): () => void {
    const key = `${handle.id}\u0000${roundId}`;
    if (this.liveLink(handle.id) !== handle) {
      queueMicrotask(() => listener({ ok: false, error: fedError('UNAVAILABLE', `combiner ${handle.id} is gone`) }));
      return () => undefined;
    }
    const stream: PartialStream = { listener, maxPartialBytes };
    this.partialStreams.set(key, stream);
    return () => {
      if (this.partialStreams.get(key) !== stream) return;
      this.partialStreams.delete(key);
      this.dropUploads(handle.id, roundId);
    };
  }

  /** Forgets the half-received partials of (combiner, round or stream): their buffers are freed. */
  private dropUploads(combinerId: string, roundId: string): void {
    for (const [k, u] of this.uploads) if (k.startsWith(`${combinerId}\u0000`) && u.meta.roundId === roundId) this.uploads.delete(k);
  }

  private failPartial(handle: CombinerLink, roundId: string, err: FedError): void {
    this.log.warn({ combinerId: handle.id, roundId, code: err.code }, `partial refused: ${err.message}`);
    handle.peer.send({ v: 2, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: roundId });
    if (this.toStream(handle.id, roundId, { ok: false, error: err })) return;
    this.settle(this.partialWaits, handle.id, roundId, { ok: false, error: err });
  }

  private settle<T>(waits: Map<string, Waiter<T>>, combinerId: string, roundId: string, outcome: Outcome<T>): void {
    const key = `${combinerId}\u0000${roundId}`;
    const w = waits.get(key);
    if (!w) {
      if (outcome.ok) this.log.debug({ combinerId, roundId }, 'late or unexpected answer ignored');
      return;
    }
    waits.delete(key);
    w.resolve(outcome);
  }

  // ------------------------------------------------------------------ waits used by the round loop

  private wait<T>(waits: Map<string, Waiter<T>>, combinerId: string, roundId: string, timeoutMs: number, signal?: AbortSignal, maxPartialBytes?: number): Promise<Outcome<T>> {
    const key = `${combinerId}\u0000${roundId}`;
    return new Promise<Outcome<T>>((resolve) => {
      if (!this.liveLink(combinerId)) return resolve({ ok: false, error: fedError('UNAVAILABLE', `combiner ${combinerId} is gone`) });
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish({ ok: false, error: fedError('ABORTED', 'round aborted') });
      const finish = (o: Outcome<T>): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (waits.get(key) === waiter) waits.delete(key);
        // A partial still on its way for a wait that ended is dropped with it (its buffer is freed).
        if (maxPartialBytes !== undefined) this.dropUploads(combinerId, roundId);
        resolve(o);
      };
      const waiter: Waiter<T> = { resolve: finish, ...(maxPartialBytes !== undefined ? { maxPartialBytes } : {}) };
      waits.get(key)?.resolve({ ok: false, error: fedError('ABORTED', 'superseded') });
      waits.set(key, waiter);
      timer = setTimeout(() => finish({ ok: false, error: fedError('TIMEOUT', `combiner ${combinerId} did not answer within ${timeoutMs} ms`) }), Math.max(0, timeoutMs));
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /**
   * Registers the wait BEFORE the request is sent (so a fast answer is not missed), then sends it. A partial
   * wait takes the largest frame the combiner may announce for it (default: the registry's absolute cap).
   */
  request<T>(
    kind: 'ready' | 'partial' | 'validation',
    handle: CombinerLink,
    roundId: string,
    msg: Parameters<Peer['send']>[0],
    timeoutMs: number,
    signal?: AbortSignal,
    maxPartialBytes?: number,
  ): Promise<Outcome<T>> {
    const waits = (kind === 'ready' ? this.readyWaits : kind === 'partial' ? this.partialWaits : this.validationWaits) as unknown as Map<string, Waiter<T>>;
    const p = this.wait(waits, handle.id, roundId, timeoutMs, signal, kind === 'partial' ? (maxPartialBytes ?? this.maxPartialBytes) : undefined);
    if (!handle.peer.send(msg)) {
      this.settle(waits, handle.id, roundId, { ok: false, error: fedError('UNAVAILABLE', `cannot reach combiner ${handle.id}`) });
    }
    return p;
  }

  /** The combiner's link is gone: fail every wait and stream on it, forget its half-received partials. */
  dropCombiner(handle: CombinerLink, err: FedError): void {
    for (const waits of [this.readyWaits, this.partialWaits, this.validationWaits] as Map<string, Waiter<unknown>>[]) {
      for (const [key, w] of waits) {
        if (key.startsWith(`${handle.id}\u0000`)) {
          waits.delete(key);
          w.resolve({ ok: false, error: err });
        }
      }
    }
    for (const key of this.uploads.keys()) if (key.startsWith(`${handle.id}\u0000`)) this.uploads.delete(key);
    for (const [key, stream] of this.partialStreams) {
      if (key.startsWith(`${handle.id}\u0000`)) {
        this.partialStreams.delete(key);
        guard(this.log, 'partial stream', () => stream.listener({ ok: false, error: err }));
      }
    }
  }
}
