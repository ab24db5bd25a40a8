/**
 * `/metrics`: the Prometheus text exposition. On the server's own port it needs a token that may read (a viewer
 * token is enough) when auth is on; `--metrics-port` serves it on a listener of its own instead, without a token,
 * bound to `--metrics-host` (default 127.0.0.1: keep it on a private interface).
 */
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { toFedError } from '@fedweb/codec';
import { authorize, type Authenticator } from '../auth.js';
import { requestToken } from '../http/plumbing.js';
import type { Logger } from '../log.js';
import type { RouteDoc } from '../http/openapi/route-doc.js';
import type { FedMetrics } from './metrics.js';

/** Where a separate metrics listener binds. */
export interface MetricsListen {
  port: number;
  /** Default `127.0.0.1`. */
  host?: string;
}

/**
 * Serves `GET /metrics` on `app` (a token that may `read` when auth is on).
 * @example
 * ```ts
 * registerMetricsRoute(app, metrics, auth);
 * ```
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: FedMetrics, auth: Authenticator): void {
  const doc: RouteDoc = {
    tag: 'operations',
    summary: 'Prometheus metrics',
    description: 'The text exposition format (`fedweb_rounds_total`, `fedweb_updates_total`, ...; README "Metrics"). Also served without a token on `--metrics-port`.',
    access: 'read',
    responses: { 200: { description: 'the metrics', contentType: 'text/plain' } },
  };
  app.get('/metrics', { config: { doc } }, async (req, reply) => {
    if (auth.enabled) authorize(await auth.verify(requestToken(req)), 'read');
    return reply.type(metrics.contentType).header('Cache-Control', 'no-store').send(await metrics.exposition());
  });
}

/**
 * A listener of its own that serves only `GET /metrics` (no token: bind it where only the scraper reaches).
 * Resolves with the bound port and a close function.
 * @example
 * ```ts
 * const m = await listenMetrics(metrics, { port: 9464 }, log);
 * await m.close();
 * ```
 */
export async function listenMetrics(metrics: FedMetrics, at: MetricsListen, log: Logger): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
      (e: unknown) => {
        log.error({ err: toFedError(e).message }, 'metrics exposition failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  log.info({ port, host: at.host ?? '127.0.0.1' }, 'metrics listener up (GET /metrics, no token)');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
