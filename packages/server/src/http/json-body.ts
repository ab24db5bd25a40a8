/**
 * JSON request bodies with a nesting bound: the depth is measured on the raw text before parsing, so a body nested
 * thousands of levels deep is a 400 `BAD_CONFIG` naming the limit, never a 500 from a stack overflow later in a
 * schema walk or in `JSON.stringify` when the value is stored. Size is bounded by Fastify's `bodyLimit` (413).
 */
import type { FastifyInstance } from 'fastify';
import { fedError, jsonDepth, MAX_JSON_DEPTH } from '@fedweb/codec';

/**
 * Replaces Fastify's `application/json` parser with one that refuses bodies nested deeper than `maxDepth`, then
 * parses with Fastify's own (prototype-poisoning-safe) parser.
 * @example
 * ```ts
 * installJsonBodyParser(app, { maxDepth: 64 });
 * ```
 */
export function installJsonBodyParser(app: FastifyInstance, opts: { maxDepth?: number } = {}): void {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(fedError('BAD_CONFIG', `JSON body nests deeper than ${maxDepth} levels`), undefined);
      return;
    }
    parse(req, text, done);
  });
}
