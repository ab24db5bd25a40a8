/**
 * What a standby controller answers while it waits for the leader lease (store/pg-lease.ts), when it can bind
 * its port (its own host or pod; on the leader's host the port is taken and it listens on nothing):
 * `GET /healthz` 200 (the process is alive: a liveness probe keeps it), everything else 503 `UNAVAILABLE`
 * (a readiness probe on `/api/status` keeps traffic on the leader). Closed just before the controller starts.
 */
import Fastify from 'fastify';
import { fedError } from '@fedweb/codec';
import type { Logger } from '../log.js';
import { installErrorHandling } from './plumbing.js';

/**
 * Listens on `port` with the standby answers; resolves with a close function (a no-op when the port is taken).
 * @example
 * ```ts
 * const close = await serveStandby(8080, '0.0.0.0', log);
 * // ... lease acquired
 * await close();
 * ```
 */
export async function serveStandby(port: number, host: string, log: Logger): Promise<() => Promise<void>> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  installErrorHandling(app);
  app.get('/healthz', async () => ({ kind: 'health', role: 'standby' }));
  app.all('/*', async () => {
    throw fedError('UNAVAILABLE', 'this controller is a standby: another controller holds the leader lease');
  });
  try {
    await app.listen({ port, host });
  } catch (e) {
    log.info({ port, err: (e as Error).message }, 'standby: the port is taken (the leader is on this host); listening on nothing until the takeover');
    await app.close();
    return async () => undefined;
  }
  return () => app.close();
}
