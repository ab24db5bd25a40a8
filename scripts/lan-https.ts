/**
 * HTTPS for phones on the LAN. Browsers only give WebCrypto (`crypto.subtle`, which verifies every package
 * and model) to secure contexts: `https://` pages or `localhost`. A phone opening `http://192.168.x.y:8080`
 * gets neither, so `npm start` also listens with TLS, with a self-signed certificate made once by the
 * system's `openssl` (the phone shows a warning to accept once), and forwards everything, WebSocket upgrades
 * included, to the plain-HTTP server on 127.0.0.1. The discovery answer is rewritten from `ws://` to `wss://`
 * because behind this front the server sees plain HTTP.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';

/**
 * Makes (once) a self-signed certificate for the given IP addresses and `localhost` in `dir`.
 * Returns null when `openssl` is not installed.
 * @example
 * ```ts
 * const tls = ensureSelfSignedCert('./.fedweb/tls', ['192.168.1.23']);
 * ```
 */
export function ensureSelfSignedCert(dir: string, ips: string[]): { cert: Buffer; key: Buffer } | null {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(dir, { recursive: true });
    const san = ['DNS:localhost', 'IP:127.0.0.1', ...ips.map((ip) => `IP:${ip}`)].join(',');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '825', '-keyout', keyPath, '-out', certPath, '-subj', '/CN=fedweb demo', '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return null;
  }
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

function forwardHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return { ...headers, 'x-forwarded-proto': 'https' };
}

/**
 * Starts the TLS front: `https://0.0.0.0:<port>` -> `http://127.0.0.1:<targetPort>`.
 * @example
 * ```ts
 * const front = await startHttpsFront({ port: 8443, host: '0.0.0.0', targetPort: 8080, tls });
 * await new Promise((r) => front.close(r));
 * ```
 */
export function startHttpsFront(opts: { port: number; host: string; targetPort: number; tls: { cert: Buffer; key: Buffer } }): Promise<Server> {
  const server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: opts.targetPort, method: req.method, path: req.url, headers: forwardHeaders(req.headers) },
      (up) => {
        const isDiscover = req.method === 'POST' && (req.url ?? '').split('?')[0] === '/api/discover';
        if (!isDiscover) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        // The combiner URL the server computed is ws://<host>: behind TLS it must be wss://.
        const parts: Buffer[] = [];
        up.on('data', (b: Buffer) => parts.push(b));
        up.on('end', () => {
          const body = Buffer.from(Buffer.concat(parts).toString('utf8').replace(/"url":"ws:\/\//, '"url":"wss://'));
          const headers = { ...up.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(body);
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('fedweb server unreachable');
    });
    req.pipe(upstream);
  });
  // WebSocket upgrades: replay the request to the server and splice the two sockets.
  server.on('upgrade', (req, socket, head) => {
    const upstream = connect(opts.targetPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const done = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', done);
    socket.on('error', done);
    upstream.on('close', done);
    socket.on('close', done);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
