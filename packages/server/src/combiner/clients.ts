/**
 * A combiner's client sockets: `hello` (within a timeout), authentication, one socket per client id (a
 * reconnect replaces the old socket), heartbeats and the sweep that drops silent clients. It knows nothing of
 * rounds: what a joined client gets next and what its messages mean is decided through {@link ClientEvents}.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { fedError, toFedError, type Capabilities, type ClientInfo, type FedError, type Message, type MessageOf } from '@fedweb/codec';
import { authorizeClientId, type Authenticator } from '../auth.js';
import { RequestLogger, type Logger } from '../log.js';
import { guard, releaseUpgrade, wsPeer, type Peer } from '../transport.js';

/** One client socket (joined once `clientId` is set). */
export interface ClientConn {
  peer: Peer;
  clientId: string | null;
  capabilities: Capabilities;
  connectedAt: number;
  lastSeen: number;
  /** When an update of this client was first counted on this connection (the controller keeps such ids). */
  contributedAt?: number;
  /** `contributedAt` went out in a `combiner.status`. */
  contributionAnnounced?: boolean;
  closed: boolean;
  helloTimer: NodeJS.Timeout | null;
  /** The id of the HTTP upgrade request that opened this socket (`reqId` on this connection's log lines). */
  reqId: string | undefined;
}

/** What the rest of the combiner hears from its clients. */
export interface ClientEvents {
  /** The task a joining client still owes (named in `welcome` as `openRoundId`), if any. */
  openTaskOf(clientId: string): string | undefined;
  /** The round whose part has already counted this client's update (named in `welcome` as `countedRoundId`), if any. */
  countedRoundOf(clientId: string): string | undefined;
  /** A client joined (its `welcome` is sent): hand it its work. */
  joined(conn: ClientConn): void;
  /** A message of a joined client other than `hello` and `heartbeat`. */
  message(conn: ClientConn, msg: Message): void;
  /** Binary data of a joined client (upload chunks). */
  binary(conn: ClientConn, bytes: Uint8Array): void;
  /** A socket is gone or was replaced: whatever it was uploading is dropped. */
  detached(conn: ClientConn): void;
  /** A joined client left (no newer socket has its id). */
  left(clientId: string): void;
  /** The client list changed (debounced `combiner.status`). */
  changed(): void;
  /** Send `combiner.status` now. */
  announce(): void;
}

export interface ClientHubOptions {
  combinerId: string;
  auth: Authenticator;
  log: Logger;
  heartbeatMs: number;
  maxClients: number;
  helloTimeoutMs: number;
  /** Bytes a socket may send before its `hello` is accepted (more: closed with 1009). */
  maxPreAuthBytes: number;
}

/**
 * Sends a typed error to a client (`ref`: the upload or task it answers).
 * @example
 * ```ts
 * sendClientError(conn, fedError('STALE_ROUND', 'round r1 is closed'), msg.uploadId);
 * ```
 */
export function sendClientError(conn: ClientConn, err: FedError, ref?: string): void {
  conn.peer.send({ v: 2, kind: 'error', code: err.code, message: err.message.slice(0, 2000), ...(ref ? { ref } : {}) });
}

/**
 * The client sockets of one combiner.
 * @example
 * ```ts
 * const hub = new ClientHub({ combinerId: 'c1', auth, log, heartbeatMs: 5000, maxClients: 20_000, helloTimeoutMs: 10_000, maxPreAuthBytes: 65_536 }, events);
 * app.get('/ws/client', { websocket: true }, (socket, req) => hub.attach(socket, undefined, req.socket));
 * ```
 */
export class ClientHub {
  private readonly byId = new Map<string, ClientConn>();
  private readonly conns = new Set<ClientConn>();
  private readonly sweepTimer: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly opts: ClientHubOptions,
    private readonly events: ClientEvents,
  ) {
    this.sweepTimer = setInterval(() => guard(opts.log, 'heartbeat sweep', () => this.sweep()), Math.max(50, Math.floor(opts.heartbeatMs / 2)));
    this.sweepTimer.unref();
  }

  /** The joined client with this id, if connected. */
  get(clientId: string): ClientConn | undefined {
    return this.byId.get(clientId);
  }

  /** Every joined client. */
  joined(): IterableIterator<ClientConn> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  /** Joined clients as the controller sees them (`combiner.status`). */
  infos(): ClientInfo[] {
    return [...this.byId.values()].map((c) => ({
      clientId: c.clientId as string,
      capabilities: c.capabilities,
      connectedAt: c.connectedAt,
      lastSeen: c.lastSeen,
      ...(c.contributedAt !== undefined ? { contributedAt: c.contributedAt } : {}),
    }));
  }

  /** {@link infos} for a `combiner.status` about to be sent: contributions in it count as announced. */
  statusInfos(): ClientInfo[] {
    for (const c of this.byId.values()) if (c.contributedAt !== undefined) c.contributionAnnounced = true;
    return this.infos();
  }

  /**
   * An update of this client was counted. The controller hears of it in the next `combiner.status` (the keepalive
   * sends one every heartbeat), or at once if the client leaves before that (see onClosed).
   */
  contributed(conn: ClientConn): void {
    conn.contributedAt ??= Date.now();
  }

  /**
   * Takes over a client WebSocket. The first message must be `hello` (within `helloTimeoutMs`).
   * `httpToken` is a bearer token from the upgrade request (header or `?token=`), used when `hello` has none.
   * `raw`: the upgraded TCP socket (of a Fastify route), whose bytes are counted until `hello` is accepted
   * (`maxPreAuthBytes`); the HTTP request of its upgrade is let go ({@link releaseUpgrade}).
   */
  attach(ws: WebSocket, httpToken?: string, raw?: Socket, reqId?: string): void {
    if (raw) releaseUpgrade(ws, raw, this.opts.log);
    if (this.closing) {
      ws.close(1001, 'combiner shutting down');
      return;
    }
    const now = Date.now();
    const conn: ClientConn = { peer: null as unknown as Peer, clientId: null, capabilities: {}, connectedAt: now, lastSeen: now, closed: false, helloTimer: null, reqId };
    let helloPending = false;
    // Methods, not arrow-function properties: tsx (keepNames) gives each such closure its own `name` property,
    // a few hundred bytes per idle socket.
    const hub = this;
    conn.peer = wsPeer(ws, reqId ? new RequestLogger(this.opts.log, reqId) : this.opts.log, {
      message(msg) {
        conn.lastSeen = Date.now();
        if (conn.clientId === null) {
          if (msg.kind !== 'hello' || helloPending) {
            sendClientError(conn, fedError('BAD_MESSAGE', helloPending ? 'wait for welcome before sending more' : 'the first message must be hello'));
            return;
          }
          helloPending = true;
          void hub.onHello(conn, msg, httpToken).finally(() => {
            helloPending = false;
          });
          return;
        }
        hub.onMessage(conn, msg);
      },
      binary(bytes) {
        conn.lastSeen = Date.now();
        if (conn.clientId === null) return sendClientError(conn, fedError('BAD_MESSAGE', 'the first message must be hello'));
        hub.events.binary(conn, bytes);
      },
      close() {
        hub.onClosed(conn);
      },
    });
    conn.helloTimer = setTimeout(() => {
      if (conn.clientId === null && !conn.closed) {
        sendClientError(conn, fedError('TIMEOUT', 'no hello received'));
        conn.peer.close(4408, 'hello timeout');
      }
    }, this.opts.helloTimeoutMs);
    conn.helloTimer.unref();
    this.conns.add(conn);
    if (raw) this.limitPreAuth(conn, raw);
  }

  /**
   * Counts what a socket sends until its `hello` is accepted: past `maxPreAuthBytes` it stops being read and is
   * closed (1009), so an unauthenticated socket buffers at most that plus one read, not a whole WebSocket message.
   */
  private limitPreAuth(conn: ClientConn, raw: Socket): void {
    const max = this.opts.maxPreAuthBytes;
    let bytes = 0;
    const count = (data: Buffer): void => {
      if (conn.clientId !== null || conn.closed) return void raw.off('data', count);
      bytes += data.byteLength;
      if (bytes <= max) return;
      raw.off('data', count);
      raw.pause();
      this.opts.log.warn({ bytes, reqId: conn.reqId }, 'socket closed: too much data before hello');
      sendClientError(conn, fedError('FRAME_TOO_LARGE', `more than ${max} bytes sent before hello was accepted`));
      conn.peer.close(1009, 'too much data before hello');
      setTimeout(() => conn.peer.terminate(), 1000).unref();
    };
    raw.on('data', count);
  }

  private async onHello(conn: ClientConn, hello: MessageOf<'hello'>, httpToken?: string): Promise<void> {
    const log = this.opts.log;
    try {
      const principal = await this.opts.auth.verify(hello.token ?? httpToken);
      authorizeClientId(principal, hello.clientId);
    } catch (e) {
      const err = toFedError(e);
      log.warn({ clientId: hello.clientId, code: err.code, reqId: conn.reqId }, `client refused: ${err.message}`);
      sendClientError(conn, err);
      conn.peer.close(4401, err.code);
      return;
    }
    if (conn.closed) return;
    if (this.byId.size >= this.opts.maxClients && !this.byId.has(hello.clientId)) {
      sendClientError(conn, fedError('UNAVAILABLE', 'this combiner is full'));
      conn.peer.close(4503, 'full');
      return;
    }
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    conn.helloTimer = null;
    const old = this.byId.get(hello.clientId);
    if (old && old !== conn) {
      // A reconnect with the same id replaces the old socket (no ghost); its partial upload is dropped.
      this.events.detached(old);
      old.clientId = null;
      old.peer.close(4000, 'replaced by a new connection');
      log.info({ clientId: hello.clientId, reqId: conn.reqId, replacedReqId: old.reqId }, 'client reconnected, old socket replaced');
    }
    conn.clientId = hello.clientId;
    conn.capabilities = hello.capabilities;
    conn.lastSeen = Date.now();
    this.byId.set(hello.clientId, conn);
    const openRoundId = this.events.openTaskOf(hello.clientId);
    const countedRoundId = this.events.countedRoundOf(hello.clientId);
    conn.peer.send({
      v: 2,
      kind: 'welcome',
      clientId: hello.clientId,
      combinerId: this.opts.combinerId,
      heartbeatMs: this.opts.heartbeatMs,
      ...(openRoundId ? { openRoundId } : {}),
      ...(countedRoundId ? { countedRoundId } : {}),
    });
    this.events.joined(conn);
    this.events.changed();
  }

  private onMessage(conn: ClientConn, msg: Message): void {
    if (msg.kind === 'heartbeat') {
      if (msg.capabilities) conn.capabilities = msg.capabilities;
      return;
    }
    if (msg.kind === 'hello') return sendClientError(conn, fedError('BAD_MESSAGE', 'already joined; open a new socket to rejoin'));
    this.events.message(conn, msg);
  }

  private onClosed(conn: ClientConn): void {
    conn.closed = true;
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    this.conns.delete(conn);
    this.events.detached(conn);
    const id = conn.clientId;
    if (id === null || this.byId.get(id) !== conn) return;
    // A contribution not yet announced goes out now, while the client is still in the list.
    if (conn.contributedAt !== undefined && !conn.contributionAnnounced) this.events.announce();
    this.byId.delete(id);
    this.opts.log.info({ clientId: id, reqId: conn.reqId }, 'client disconnected');
    this.events.changed();
    this.events.left(id);
  }

  /** Drops clients whose heartbeats stopped (online only while heartbeats arrive). */
  private sweep(): void {
    const limit = Date.now() - 3 * this.opts.heartbeatMs;
    for (const conn of this.byId.values()) {
      if (conn.lastSeen < limit && !conn.closed) {
        this.opts.log.info({ clientId: conn.clientId, reqId: conn.reqId }, 'heartbeat timeout');
        sendClientError(conn, fedError('TIMEOUT', `no heartbeat for ${3 * this.opts.heartbeatMs} ms`));
        conn.peer.close(4001, 'heartbeat timeout');
        // Count it gone now; the close event may be late on a dead TCP connection.
        this.onClosed(conn);
        conn.peer.terminate();
      }
    }
  }

  /** Stops the sweep and sends every socket a closing handshake (new sockets are refused from now on). */
  closeAll(): void {
    this.closing = true;
    clearInterval(this.sweepTimer);
    for (const conn of this.conns) {
      if (conn.helloTimer) clearTimeout(conn.helloTimer);
      conn.peer.close(1001, 'combiner shutting down');
    }
  }

  /** Drops what {@link ClientHub.closeAll} left open. */
  terminateAll(): void {
    for (const conn of this.conns) conn.peer.terminate();
    this.conns.clear();
    this.byId.clear();
  }
}
