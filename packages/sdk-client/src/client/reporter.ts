/**
 * The client's voice towards the page: the current status, and the `status`, `round`, `progress`, `metrics`,
 * `withdrawn` and `error` events. Handlers never break the client: one that throws is logged and ignored.
 */
import type { FedError } from '@fedweb/codec';
import type { CacheKind } from '../cache/types.js';
import type { BackendReport } from '../trainer/api.js';
import { TypedEmitter } from './events.js';
import type { ClientStatus, FedClientEvents, FedLogger, StatusEvent } from './types.js';

/**
 * What every `status` event carries besides the status itself, read when the event is sent.
 * @example
 * ```ts
 * const snapshot = (): StatusContext => ({ clientId: 'c-1', cache: 'indexeddb' });
 * ```
 */
export interface StatusContext {
  clientId?: string;
  /** Only while connected. */
  combinerId?: string;
  backend?: BackendReport;
  cache?: CacheKind;
}

/**
 * Holds the status and sends the client's events.
 * @example
 * ```ts
 * const reporter = new Reporter(console, () => ({ clientId: 'c-1' }));
 * reporter.on('status', (s) => console.log(s.status));
 * reporter.setStatus('connecting');
 * ```
 */
export class Reporter {
  #status: ClientStatus = 'idle';
  readonly #events: TypedEmitter<FedClientEvents>;

  constructor(
    private readonly logger: FedLogger | undefined,
    private readonly context: () => StatusContext,
  ) {
    this.#events = new TypedEmitter<FedClientEvents>((e, event) =>
      this.warn(`a '${String(event)}' event handler threw: ${(e as Error)?.message ?? String(e)}`),
    );
  }

  get status(): ClientStatus {
    return this.#status;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof FedClientEvents>(event: K, handler: (payload: FedClientEvents[K]) => void): () => void {
    return this.#events.on(event, handler);
  }

  /** Sets the status and announces it with the client's context. */
  setStatus(status: ClientStatus, extra: Omit<StatusEvent, 'status'> = {}): void {
    this.#status = status;
    const ev: StatusEvent = { status, ...extra };
    const c = this.context();
    if (c.clientId) ev.clientId = c.clientId;
    if (c.combinerId) ev.combinerId = c.combinerId;
    if (c.backend && !ev.backend) ev.backend = c.backend;
    if (c.cache) ev.cache = c.cache;
    this.#events.emit('status', ev);
  }

  /** Sets the status without announcing it (the announcement follows once teardown is done). */
  holdStatus(status: ClientStatus): void {
    this.#status = status;
  }

  emit<K extends 'round' | 'model' | 'progress' | 'metrics' | 'withdrawn'>(event: K, payload: FedClientEvents[K]): void {
    this.#events.emit(event, payload);
  }

  /** The client stopped on a permanent refusal: the `failed` event (after the `failed` status). */
  failed(err: FedError): void {
    this.#events.emit('failed', err);
  }

  /** Reports an error to the `error` handlers, or to the logger when there are none. */
  error(err: FedError): void {
    if (this.#events.listenerCount('error') === 0) this.warn(`fedweb: ${err.code}: ${err.message}`);
    this.#events.emit('error', err);
  }

  warn(message: string): void {
    try {
      (this.logger ?? console).warn(message);
    } catch {
      // A broken logger must not break the client.
    }
  }
}
