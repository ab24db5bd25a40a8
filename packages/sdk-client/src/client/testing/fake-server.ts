/**
 * An in-process stand-in for a fedweb server, for FedClient protocol tests: an HTTP server for discovery and
 * blobs, and a `ws` WebSocket server acting as the combiner. Every message the client sends is validated with the
 * codec's `parseMessage`; uploads are reassembled with the codec's `ChunkAssembler`. Test-only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChunkAssembler, encodeMessage, parseMessage, sha256Hex, type BlobRef, type Message, type MessageInput, type MessageKind, type MessageOf } from '@fedweb/codec';

/** What the fake combiner received: a control message, or a completed upload frame. */
export type Inbound = { message: Message; ws: WebSocket } | { frame: Uint8Array; uploadId: string; ws: WebSocket };

export class FakeServer {
  readonly requests: string[] = [];
  readonly blobs = new Map<string, Uint8Array>();
  readonly sockets = new Set<WebSocket>();
  readonly hellos: MessageOf<'hello'>[] = [];
  /** Protocol violations by the client (invalid messages, stray chunks); a test asserts this stays empty. */
  readonly problems: string[] = [];
  discoverCount = 0;
  /** Status and body of `POST /api/discover` (default 200 with this combiner). */
  discoverReply: (() => { status: number; body: unknown }) | undefined;
  openRoundId: string | undefined;
  /** Named in `welcome` as the round in which this client's update was already counted. */
  countedRoundId: string | undefined;
  heartbeatMs = 60_000;
  /** Answers an HTTP request itself when it returns true (a misbehaving server: endless bodies, lies, ...). */
  intercept: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Authorization headers received over HTTP, in order. */
  readonly authorizations: (string | undefined)[] = [];
  /** Send `welcome` on `hello` (turn off to answer by hand). */
  autoWelcome = true;
  current: WebSocket | undefined;
  readonly #inbox: Inbound[] = [];
  readonly #waiters = new Set<{ match: (i: Inbound) => boolean; resolve: (i: Inbound) => void }>();
  readonly #uploads = new Map<WebSocket, ChunkAssembler>();
  readonly #allClosed: (() => void)[] = [];

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
  ) {}

  /** `perMessageDeflate`: the combiner may compress its messages (to test the client's inflate bound). */
  static async start(opts: { perMessageDeflate?: boolean } = {}): Promise<FakeServer> {
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: opts.perMessageDeflate ?? false });
    const s = new FakeServer(http, wss);
    http.on('request', (req, res) => {
      s.requests.push(`${req.method} ${req.url}`);
      s.authorizations.push(req.headers.authorization);
      if (s.intercept?.(req, res)) return;
      if (req.method === 'POST' && req.url === '/api/discover') {
        s.discoverCount++;
        req.resume();
        const r = s.discoverReply?.() ?? { status: 200, body: { combinerId: 'comb-1', url: '/ws/client' } };
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
        return;
      }
      const blob = s.blobs.get(req.url ?? '');
      if (req.method === 'GET' && blob) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(blob));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'NOT_FOUND', message: `no ${req.url}` }));
    });
    http.on('upgrade', (req, socket, head) => {
      if (req.url !== '/ws/client') {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => s.#accept(ws));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Serves `bytes` at `path` and returns its BlobRef. */
  async blob(id: string, path: string, bytes: Uint8Array): Promise<BlobRef> {
    this.blobs.set(path, bytes);
    return { id, sha256: await sha256Hex(bytes), url: path, bytes: bytes.length };
  }

  #accept(ws: WebSocket): void {
    this.sockets.add(ws);
    this.current = ws;
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.#uploads.delete(ws);
      if (this.sockets.size === 0) for (const r of this.#allClosed.splice(0)) r();
    });
    ws.on('message', (data, isBinary) => {
      const bytes = data instanceof Buffer ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) {
        const asm = this.#uploads.get(ws);
        if (!asm) {
          this.problems.push('a chunk without an announcing update');
          return;
        }
        let frame: Uint8Array | null;
        try {
          frame = asm.push(new Uint8Array(bytes));
        } catch (e) {
          this.problems.push(`bad chunk: ${(e as Error).message}`);
          return;
        }
        if (frame) {
          this.#uploads.delete(ws);
          this.#deliver({ frame: frame.slice(), uploadId: asm.uploadId, ws });
        }
        return;
      }
      const r = parseMessage(bytes.toString('utf8'));
      if (!r.ok) {
        this.problems.push(`invalid message: ${r.error.message}`);
        return;
      }
      const m = r.value;
      if (m.kind === 'update') this.#uploads.set(ws, new ChunkAssembler({ uploadId: m.uploadId, chunkCount: m.chunkCount, totalBytes: m.byteLength }));
      if (m.kind === 'hello') {
        this.hellos.push(m);
        if (this.autoWelcome) {
          this.send(
            { v: 2, kind: 'welcome', clientId: m.clientId, combinerId: 'comb-1', heartbeatMs: this.heartbeatMs, ...(this.openRoundId ? { openRoundId: this.openRoundId } : {}), ...(this.countedRoundId ? { countedRoundId: this.countedRoundId } : {}) },
            ws,
          );
        }
      }
      this.#deliver({ message: m, ws });
    });
  }

  #deliver(i: Inbound): void {
    for (const w of this.#waiters) {
      if (w.match(i)) {
        this.#waiters.delete(w);
        w.resolve(i);
        return;
      }
    }
    this.#inbox.push(i);
  }

  /** The next message of `kind` the client sent (matching `pred`), waiting up to `timeoutMs`. */
  next<K extends MessageKind>(kind: K, pred: (m: MessageOf<K>) => boolean = () => true, timeoutMs = 20_000): Promise<MessageOf<K>> {
    const match = (i: Inbound) => 'message' in i && i.message.kind === kind && pred(i.message as MessageOf<K>);
    return this.#take(match, `a '${kind}' message`, timeoutMs).then((i) => (i as unknown as { message: MessageOf<K> }).message);
  }

  /** The next completed upload frame. */
  nextFrame(uploadId?: string, timeoutMs = 20_000): Promise<Uint8Array> {
    const match = (i: Inbound) => 'frame' in i && (uploadId === undefined || i.uploadId === uploadId);
    return this.#take(match, 'an upload frame', timeoutMs).then((i) => (i as { frame: Uint8Array }).frame);
  }

  /** Kinds received so far and not consumed by `next` (for asserting what did NOT arrive). */
  pendingKinds(): string[] {
    return this.#inbox.map((i) => ('message' in i ? i.message.kind : '#frame'));
  }

  #take(match: (i: Inbound) => boolean, what: string, timeoutMs: number): Promise<Inbound> {
    const idx = this.#inbox.findIndex(match);
    if (idx >= 0) return Promise.resolve(this.#inbox.splice(idx, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (i: Inbound) => {
          clearTimeout(timer);
          resolve(i);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(w);
        reject(new Error(`fake server: no ${what} within ${timeoutMs} ms; received ${JSON.stringify(this.pendingKinds())}`));
      }, timeoutMs);
      this.#waiters.add(w);
    });
  }

  send<K extends MessageKind>(m: MessageInput<K>, ws: WebSocket | undefined = this.current): void {
    if (!ws) throw new Error('fake server: no client connected');
    ws.send(encodeMessage(m));
  }

  /** Sends raw text (to test bad input). */
  sendRaw(text: string | Uint8Array, ws: WebSocket | undefined = this.current): void {
    ws?.send(text);
  }

  /** Closes the current client socket with a WebSocket close code (e.g. 4000 "replaced"). */
  closeCurrent(code: number, reason: string): void {
    this.current?.close(code, reason);
  }

  /** Resolves once no client socket is open (each closed by the client or cut). */
  socketsClosed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((r) => this.#allClosed.push(r));
  }

  /** Cuts every client connection (as a network cut or combiner restart would). */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    for (const w of this.#waiters) this.#waiters.delete(w);
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
