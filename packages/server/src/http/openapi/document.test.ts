/**
 * buildOpenApi on hand-made routes: what each RouteDoc field becomes, and the mistakes it refuses (a wildcard
 * route with docs, a route documented twice).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SessionEnvelopeSchema } from '../../api-client/responses.js';
import { IdParam } from '../schemas.js';
import { buildOpenApi, openApiPath, operationIdOf, type CollectedRoute } from './document.js';
import type { RouteDoc } from './route-doc.js';

const INFO = { title: 't', version: '1', description: 'd' };
const pause: RouteDoc = { tag: 'sessions', summary: 'Pause', access: 'operate', params: IdParam, responses: { 200: { description: 'ok', schema: SessionEnvelopeSchema } }, errors: ['NOT_FOUND', 'CONFLICT'] };

describe('buildOpenApi', () => {
  it('turns a RouteDoc into an operation: path params, named schemas, roles, errors by status', () => {
    const doc = buildOpenApi([{ method: 'POST', url: '/api/sessions/:id/pause', doc: pause }, { method: 'GET', url: '/undocumented' }], INFO);
    expect(Object.keys(doc.paths)).toEqual(['/api/sessions/{id}/pause']);
    const op = doc.paths['/api/sessions/{id}/pause']!['post'] as Record<string, unknown> & { responses: Record<string, { description: string }> };
    expect(op.operationId).toBe('postApiSessionsIdPause');
    expect(op['x-fedweb-role']).toEqual({ access: 'operate', roles: ['admin', 'operator'] });
    expect(op.description).toContain('Requires a bearer token whose role grants `operate`: admin, operator.');
    expect(op.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 128 } }]);
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '403', '404', '409', 'default']);
    expect(op.responses['409']!.description).toContain('`CONFLICT`');
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    // Exported schemas keep their names, and nested named schemas are referenced, not inlined.
    expect(schemas).toHaveProperty('SessionEnvelope');
    expect(JSON.stringify(schemas['SessionEnvelope'])).toContain('"$ref":"#/components/schemas/SessionView"');
    expect(JSON.stringify(schemas)).not.toContain('additionalProperties":{}');
  });

  it('names an unexported body after its operation, as its input type (defaults optional)', () => {
    const body = z.object({ n: z.number().int().default(3) });
    const doc = buildOpenApi([{ method: 'POST', url: '/api/x', doc: { tag: 'x', summary: 'x', access: 'public', body, responses: { 204: { description: 'done' } } } }], INFO);
    const op = doc.paths['/api/x']!['post'] as { security: unknown[]; requestBody: unknown; responses: Record<string, unknown> };
    expect(op.security).toEqual([]);
    expect(op.requestBody).toEqual({ required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PostApiXBody' } } } });
    expect((doc.components as { schemas: Record<string, { required?: string[] }> }).schemas['PostApiXBody']!.required).toBeUndefined();
    expect(Object.keys(op.responses)).toEqual(['204', '400', '413', '415', 'default']);
  });

  it('refuses docs on a wildcard route and a route documented twice', () => {
    const any: RouteDoc = { tag: 'x', summary: 'x', access: 'token', responses: { 200: { description: 'ok' } } };
    expect(() => buildOpenApi([{ method: 'GET', url: '/files/*', doc: any }], INFO)).toThrow(/wildcard/);
    const twice: CollectedRoute[] = [{ method: 'GET', url: '/a', doc: any }, { method: 'GET', url: '/a', doc: any }];
    expect(() => buildOpenApi(twice, INFO)).toThrow(/documented twice/);
  });

  it('maps paths and operation ids', () => {
    expect(openApiPath('/api/packages/:sha256/manifest')).toBe('/api/packages/{sha256}/manifest');
    expect(operationIdOf('GET', '/.well-known/jwks.json')).toBe('getWellKnownJwksJson');
  });
});
