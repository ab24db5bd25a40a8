/**
 * The controller's round instructions on a combiner: `round.prepare` (which clients are eligible),
 * `round.start` (open a synchronous round part or an asynchronous stream, or move the stream to a new model
 * version) and `round.abort`. At most one of the two is open; the newest instruction wins.
 *
 * A start awaits the model's layout (fetched over HTTP), so starts can finish out of order. Every instruction
 * takes a ticket when it arrives; a start whose ticket is no longer the newest once its awaits are done has
 * lost (the controller moved on): it installs nothing and is answered with an `error` for its round id, as a
 * start that failed.
 */
import { fedError, readFrameHeader, toFedError, type BlobRef, type Compressor, type FedError, type MessageOf, type TensorSpec } from '@fedweb/codec';
import { isEligible, SelectionPolicySchema, type SelectionPolicy } from '../config.js';
import type { Logger } from '../log.js';
import { sha256Node } from '../store/fs-blob-store.js';
import { getStrategy, type FrameParser } from '../strategy/index.js';
import type { Strategy, StrategyContext } from '../strategy/types.js';
import type { OutMessage } from '../transport.js';
import { updateLimits } from './admission.js';
import { AsyncStream, type AsyncStreamDeps } from './async-stream.js';
import type { ClientConn } from './clients.js';
import { RoundPart, type RoundPartDeps } from './round-part.js';

const ROUND_ID = /\.r(\d+)\./;

/**
 * Parses the round number out of a controller round id (`<session>.r<round>.<nonce>`), 1 if absent.
 * @example
 * ```ts
 * roundNumberOf('s1.r3.ab12cd34') // 3
 * ```
 */
export function roundNumberOf(roundId: string): number {
  const m = ROUND_ID.exec(roundId);
  return m ? Number(m[1]) : 1;
}

/**
 * The layout (names and shapes, in order) of a model frame, from its header only.
 * @example
 * ```ts
 * layoutOf(seedFrame) // [{ name: 'w0', shape: [784, 128] }, ...]
 * ```
 */
export function layoutOf(frame: Uint8Array): TensorSpec[] {
  const header = readFrameHeader(frame);
  return header.tensors.map((t) => ({ name: t.name, shape: [...t.shape] }));
}

/** `round.start.quota` of a synchronous round: updates after which the part closes (at most those selected here). */
function updatesWantedOf(msg: MessageOf<'round.start'>): number {
  return Math.min(msg.quota ?? msg.clientIds.length, msg.clientIds.length);
}

/** `round.start.forwardEvery` of an asynchronous stream: folded updates per forwarded partial. */
function forwardEveryOf(msg: MessageOf<'round.start'>): number {
  return msg.forwardEvery ?? 1;
}

/** Issues tickets to instructions as they arrive and tells whether one is still the newest. */
class StartTickets {
  private issued = 0;
  private newestRoundId: string | null = null;
  /** The ticket of the last instruction for a different round than the one before it. */
  private lastSwitch = 0;

  /** An instruction for `roundId` arrived. Instructions for the same round (stream versions) do not supersede each other. */
  take(roundId: string): number {
    this.issued += 1;
    if (roundId !== this.newestRoundId) this.lastSwitch = this.issued;
    this.newestRoundId = roundId;
    return this.issued;
  }

  isNewest(ticket: number): boolean {
    return this.lastSwitch <= ticket;
  }
}

export interface RoundControlOptions {
  log: Logger;
  compressor: Compressor;
  /** Parses update frames off the event loop (the combiner's fold pool); absent = on this thread. */
  parser?: FrameParser;
  /** Upper bound on an update frame (bytes); the model's size bounds it further. */
  maxUploadBytes?: number;
  fetchBlob(ref: BlobRef, signal: AbortSignal): Promise<Uint8Array>;
  joined(): Iterable<ClientConn>;
  send(msg: OutMessage): boolean;
  roundDeps: Omit<RoundPartDeps, 'ended'>;
  streamDeps: Omit<AsyncStreamDeps, 'ended'>;
}

/**
 * The open round part or stream of one combiner, driven by the controller's round instructions.
 * @example
 * ```ts
 * const control = new RoundControl(opts);
 * control.start(roundStartMsg); // the round part opens once the model's layout is known
 * control.round?.id;
 * ```
 */
export class RoundControl {
  round: RoundPart | null = null;
  stream: AsyncStream | null = null;
  private readonly tickets = new StartTickets();
  /** Async starts are handled one after the other (a new stream awaits the model's layout). */
  private asyncChain: Promise<void> = Promise.resolve();
  /** The selection policy of the last `round.prepare` (an async stream keeps tasking clients that pass it). */
  private lastPrepare: { roundId: string; policy: SelectionPolicy } | null = null;
  private modelCache: { sha256: string; layout: TensorSpec[] } | null = null;

  constructor(private readonly opts: RoundControlOptions) {}

  /** `round.prepare`: the clients eligible under the selection policy (`round.ready`). */
  prepare(msg: MessageOf<'round.prepare'>): void {
    const policy = SelectionPolicySchema.safeParse(msg.selection);
    if (!policy.success) {
      this.opts.send({ v: 2, kind: 'error', code: 'BAD_CONFIG', message: `bad selection policy: ${policy.error.issues[0]?.message}`, ref: msg.roundId });
      return;
    }
    this.tickets.take(msg.roundId);
    // The controller moved on (e.g. it restarted): the old round can never be reduced.
    if (this.round && this.round.state === 'collecting' && this.round.id !== msg.roundId) this.round.abort('superseded by a new round');
    if (this.stream && this.stream.id !== msg.roundId) this.stream.close('superseded by a new round');
    this.lastPrepare = { roundId: msg.roundId, policy: policy.data };
    const eligible = [...this.opts.joined()]
      .filter((c) => isEligible(c.capabilities, policy.data))
      .map((c) => c.clientId as string)
      .sort();
    this.opts.send({ v: 2, kind: 'round.ready', roundId: msg.roundId, eligible });
  }

  /** `round.start`; resolves when it is handled (a failure is answered to the controller, never thrown). */
  start(msg: MessageOf<'round.start'>): Promise<void> {
    const ticket = this.tickets.take(msg.roundId);
    return this.onStart(msg, ticket).catch((e: unknown) => this.failStart(msg.roundId, toFedError(e)));
  }

  /** `round.abort`: drops the round part or stream with that id. */
  abort(roundId: string, reason: string): void {
    if (this.round && this.round.id === roundId) this.round.abort(reason);
    if (this.stream && this.stream.id === roundId) this.stream.close(reason);
  }

  /**
   * Drops whatever is open. On shutdown a part already closing still sends its partial (shutdown waits for
   * it); when the controller link is lost nothing can be sent, so a closing part is dropped too.
   */
  abortAll(reason: string, how: 'shutdown' | 'link lost'): void {
    if (this.round && (this.round.state === 'collecting' || (how === 'link lost' && this.round.state !== 'closed'))) this.round.abort(reason);
    this.stream?.close(reason);
  }

  private failStart(roundId: string, err: FedError): void {
    this.opts.log.error({ roundId, code: err.code }, `cannot start round: ${err.message}`);
    if (this.round && this.round.id === roundId && this.round.state !== 'closed') this.round.abort(err.message);
    if (this.stream && this.stream.id === roundId) this.stream.close(err.message);
    this.opts.send({ v: 2, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ref: roundId });
  }

  /** Throws when a newer instruction arrived since `ticket`: this start lost and must install nothing. */
  private checkNewest(ticket: number, roundId: string): void {
    if (!this.tickets.isNewest(ticket)) throw fedError('STALE_ROUND', `round.start for ${roundId} was superseded by a newer round instruction`);
  }

  private async onStart(msg: MessageOf<'round.start'>, ticket: number): Promise<void> {
    let strategy: Strategy<unknown, unknown>;
    try {
      strategy = getStrategy(msg.strategy.name) as Strategy<unknown, unknown>;
    } catch (e) {
      if (this.round && this.round.state !== 'closed') this.round.abort('superseded by a new round');
      throw e;
    }
    if (strategy.mode === 'async') {
      const next = this.asyncChain.then(() => this.onAsyncStart(msg, strategy, ticket));
      this.asyncChain = next.catch(() => undefined);
      return next;
    }
    this.stream?.close('superseded by a synchronous round');
    if (this.round && this.round.state !== 'closed') this.round.abort('superseded by a new round');
    const parsed = strategy.optionsSchema.safeParse(msg.strategy.options);
    if (!parsed.success) throw fedError('BAD_CONFIG', `strategy options: ${parsed.error.issues[0]?.message}`);
    // A delta frame carries the model's names and shapes too, in a fifth of the bytes.
    const layout = await this.layoutFor(msg.download?.delta?.ref ?? msg.model);
    this.checkNewest(ticket, msg.roundId);
    const limits = updateLimits(layout, { compressor: this.opts.compressor, configuredMax: this.opts.maxUploadBytes, ...boundsOf(msg), ...(this.opts.parser ? { parser: this.opts.parser } : {}) });
    const ctx: StrategyContext = { sessionId: msg.sessionId, round: msg.round ?? roundNumberOf(msg.roundId), layout, paramCount: limits.paramCount, seed: msg.seed ?? 0 };
    const part = new RoundPart(
      { start: msg, strategy, options: parsed.data, ctx, limits, updatesWanted: updatesWantedOf(msg) },
      { ...this.opts.roundDeps, ended: (p) => void (this.round === p && (this.round = null)) },
    );
    this.round = part;
    part.open();
  }

  /**
   * `round.start` of an async strategy: opens the stream (a new `roundId`) or moves it to a new version (the
   * same `roundId`, a higher `round`: the controller published a model). `round` is the version being built,
   * `deadline - now` each task's time budget.
   */
  private async onAsyncStart(msg: MessageOf<'round.start'>, strategy: Strategy<unknown, unknown>, ticket: number): Promise<void> {
    this.checkNewest(ticket, msg.roundId);
    const parsed = strategy.optionsSchema.safeParse(msg.strategy.options);
    if (!parsed.success) throw fedError('BAD_CONFIG', `strategy options: ${parsed.error.issues[0]?.message}`);
    const round = msg.round ?? roundNumberOf(msg.roundId);
    const version = { start: msg, round, forwardEvery: forwardEveryOf(msg), taskTimeoutMs: Math.max(1000, msg.deadline - Date.now()) };
    let st = this.stream;
    if (st && st.state === 'open' && st.id === msg.roundId) {
      if (!st.advance(version)) return; // an older version arriving late changes nothing
    } else {
      if (this.round && this.round.state !== 'closed') this.round.abort('superseded by an asynchronous session');
      st?.close('superseded by a new stream');
      const layout = await this.layoutFor(msg.model);
      this.checkNewest(ticket, msg.roundId);
      const limits = updateLimits(layout, { compressor: this.opts.compressor, configuredMax: this.opts.maxUploadBytes, ...boundsOf(msg), ...(this.opts.parser ? { parser: this.opts.parser } : {}) });
      const ctx: StrategyContext = { sessionId: msg.sessionId, round, layout, paramCount: limits.paramCount, seed: msg.seed ?? 0 };
      const policy = this.lastPrepare?.roundId === msg.roundId ? this.lastPrepare.policy : SelectionPolicySchema.parse({});
      const maxStaleness = strategy.asyncConfig?.(parsed.data).maxStaleness ?? Number.MAX_SAFE_INTEGER;
      st = new AsyncStream(
        { strategy, options: parsed.data, ctx, limits, policy, maxStaleness },
        version,
        { ...this.opts.streamDeps, ended: (s) => void (this.stream === s && (this.stream = null)) },
      );
      this.stream = st;
    }
    st.taskClients(msg.clientIds);
  }

  private async layoutFor(model: BlobRef): Promise<TensorSpec[]> {
    if (this.modelCache?.sha256 === model.sha256) return this.modelCache.layout;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 60_000);
    try {
      const bytes = await this.opts.fetchBlob(model, ac.signal);
      if (sha256Node(bytes) !== model.sha256) throw fedError('HASH_MISMATCH', `model ${model.id} does not match its SHA-256`);
      const layout = layoutOf(bytes);
      this.modelCache = { sha256: model.sha256, layout };
      return layout;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The value bounds a `round.start` sets for its updates (admission.ts applies them). */
function boundsOf(msg: MessageOf<'round.start'>): { maxUpdateNorm?: number; clipUpdateNorm?: boolean; exampleCap?: number } {
  return {
    ...(msg.maxUpdateNorm !== undefined ? { maxUpdateNorm: msg.maxUpdateNorm } : {}),
    ...(msg.clipUpdateNorm !== undefined ? { clipUpdateNorm: msg.clipUpdateNorm } : {}),
    ...(msg.exampleCap !== undefined ? { exampleCap: msg.exampleCap } : {}),
  };
}
