/**
 * HTTP plumbing shared by the controller and external combiners: the error handler (every error leaves as
 * `{ kind: 'error', code, message }` with the status of its code in the codec's error table), bearer-token
 * auth on `/api/*`, immutable content-addressed responses, and the WebSocket URL a client is told to dial.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fedError, httpStatusOf, isFedError, toFedError, type FedError } from '@fedweb/codec';
import { bearerToken, type Authenticator, type Principal } from '../auth.js';
import { redactUrl } from '../log.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on `/api/*` (the anonymous admin when auth is off). */
    principal?: Principal;
  }
}

/** Converts Fastify's own errors (bad JSON, body too large, bad content type) to FedErrors. */
function fromFastify(err: FastifyError): FedError {
  if (isFedError(err)) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return fedError('FRAME_TOO_LARGE', 'request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return fedError('BAD_CONFIG', 'unsupported content type (send application/json)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return fedError('BAD_CONFIG', 'empty JSON body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fedError('BAD_CONFIG', err.message);
    default:
      if (err.statusCode === 400 || err instanceof SyntaxError) return fedError('BAD_CONFIG', err.message);
      if (err.statusCode === 404) return fedError('NOT_FOUND', err.message);
      if (err.statusCode === 413) return fedError('FRAME_TOO_LARGE', err.message);
      if (err.statusCode === 415) return fedError('BAD_CONFIG', err.message);
      return toFedError(err);
  }
}

/**
 * Installs the JSON error and not-found handlers.
 * @example
 * ```ts
 * installErrorHandling(app);
 * ```
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const fe = fromFastify(err);
    const status = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : httpStatusOf(fe.code);
    if (status >= 500) req.log.error({ code: fe.code, err: fe.message }, 'request failed');
    else req.log.info({ code: fe.code, err: fe.message, method: req.method, url: redactUrl(req.url) }, 'request refused');
    void reply.status(status).send({ kind: 'error', code: fe.code, message: fe.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ kind: 'error', code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}

/**
 * The token of a request: `Authorization: Bearer`, else `?token=` (browsers cannot set WebSocket headers).
 * @example
 * ```ts
 * const principal = await auth.verify(requestToken(req));
 * ```
 */
export function requestToken(req: FastifyRequest): string | undefined {
  const header = bearerToken(req.headers.authorization);
  if (header) return header;
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' && q.length > 0 ? q : undefined;
}

/**
 * Verifies the bearer token of every `/api/*` request and stores the principal on `req.principal`.
 * @example
 * ```ts
 * installAuthHook(app, auth);
 * app.get('/api/x', async (req) => { authorize(req.principal!, 'read'); ... });
 * ```
 */
export function installAuthHook(app: FastifyInstance, auth: Authenticator): void {
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/')) return;
    if (req.method === 'OPTIONS') return;
    req.principal = await auth.verify(requestToken(req));
  });
}

/**
 * The request's principal (set by {@link installAuthHook}).
 * @example
 * ```ts
 * authorize(principalOf(req), 'read');
 * ```
 */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw fedError('UNAUTHORIZED', 'no principal on this request');
  return req.principal;
}

/**
 * Sends immutable, content-addressed bytes with `ETag` = SHA-256 and a 304 on `If-None-Match`.
 * @example
 * ```ts
 * return sendImmutable(req, reply, sha, bytes, 'application/octet-stream');
 * ```
 */
export function sendImmutable(req: FastifyRequest, reply: FastifyReply, sha256: string, bytes: Uint8Array | null, contentType: string): FastifyReply {
  const etag = `"${sha256}"`;
  void reply.header('ETag', etag).header('Cache-Control', 'public, max-age=31536000, immutable');
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return reply.status(304).send();
  if (!bytes) throw fedError('NOT_FOUND', `blob ${sha256} is missing`);
  return reply.type(contentType).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/**
 * Resolves a combiner URL for a client: a path (the embedded combiner) becomes `ws(s)://<Host header><path>`.
 * @example
 * ```ts
 * wsUrlFor('/ws/client', req) // 'ws://127.0.0.1:8080/ws/client'
 * ```
 */
export function wsUrlFor(url: string, req: FastifyRequest): string {
  if (!url.startsWith('/')) return url;
  const proto = req.protocol === 'https' ? 'wss' : 'ws';
  return `${proto}://${req.headers.host ?? `${req.hostname}`}${url}`;
}
