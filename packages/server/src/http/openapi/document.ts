/**
 * Builds the OpenAPI 3.1 document from the routes Fastify registered and the {@link RouteDoc} each carries.
 * Schemas come from zod (`z.toJSONSchema`, JSON Schema 2020-12, the dialect of OpenAPI 3.1): request bodies as
 * their input type (defaults optional), responses as their output. A schema exported from `api-client/responses.ts`
 * or `http/schemas.ts` becomes a named component (`SessionViewSchema` -> `#/components/schemas/SessionView`).
 */
import { z } from 'zod';
import { ERROR_CODES, httpStatusOf, type ErrorCode } from '@fedweb/codec';
import * as responseSchemas from '../../api-client/responses.js';
import * as requestSchemas from '../schemas.js';
import { roleSentence, rolesFor, type RouteDoc } from './route-doc.js';

/** A route as the `onRoute` hook saw it. */
export interface CollectedRoute {
  method: string;
  url: string;
  doc?: RouteDoc | undefined;
}

type Json = Record<string, unknown>;

/** The title, version and text of the document. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An EdDSA JWT issued by the controller (`fedweb token --role <role> --sub <id>`, or `POST /api/tokens`). Its `role` claim decides what it may call.',
  },
  tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The same JWT as `?token=` (for browsers, which cannot set headers on a WebSocket).' },
} as const;

/**
 * Fastify's `/a/:id` as OpenAPI's `/a/{id}`.
 * @example
 * ```ts
 * openApiPath('/api/sessions/:id/pause') // '/api/sessions/{id}/pause'
 * ```
 */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * A stable operation id from method and path: `POST /api/sessions/:id/pause` -> `postApiSessionsIdPause`.
 * @example
 * ```ts
 * operationIdOf('GET', '/.well-known/jwks.json') // 'getWellKnownJwksJson'
 * ```
 */
export function operationIdOf(method: string, url: string): string {
  const words = url.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

const pascal = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** Named zod schemas: the exports of responses.ts and schemas.ts that end in `Schema`, without the suffix. */
function exportedNames(): Map<z.ZodType, string> {
  const names = new Map<z.ZodType, string>();
  for (const [key, value] of Object.entries({ ...responseSchemas, ...requestSchemas })) {
    if (value instanceof z.ZodType && key.endsWith('Schema')) names.set(value, key.slice(0, -'Schema'.length));
  }
  return names;
}

/** Schemas of one direction, converted together so shared components become `$ref`s. */
class SchemaSet {
  private readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<z.ZodType, string>();
  constructor(
    private readonly io: 'input' | 'output',
    private readonly names: Map<z.ZodType, string>,
    private readonly taken: Set<string>,
  ) {}

  /** The `$ref` of a schema, registering it under its exported name or `fallback`. */
  ref(schema: z.ZodType, fallback: string): Json {
    let id = this.ids.get(schema);
    if (!id) {
      id = this.names.get(schema) ?? fallback;
      while (this.taken.has(id)) id = `${id}${this.io === 'input' ? 'Input' : 'Output'}`;
      this.taken.add(id);
      this.ids.set(schema, id);
      this.registry.add(schema, { id });
    }
    return { $ref: `#/components/schemas/${id}` };
  }

  /** The JSON Schemas of every registered schema, by id. */
  components(): Record<string, Json> {
    if (this.ids.size === 0) return {};
    const { schemas } = z.toJSONSchema(this.registry, { target: 'draft-2020-12', io: this.io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` });
    const out: Record<string, Json> = {};
    for (const [id, s] of Object.entries(schemas)) {
      const { $schema: _s, $id: _i, ...rest } = s as Json;
      out[id] = withoutEmptyAdditional(rest) as Json;
    }
    return out;
  }
}

/**
 * Drops `additionalProperties: {}` (what a `.loose()` object gives): the same meaning as leaving it out, and docs
 * pages would otherwise show `additionalProp1` in every example.
 */
function withoutEmptyAdditional(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyAdditional);
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'additionalProperties' && v && typeof v === 'object' && Object.keys(v).length === 0) continue;
    out[k] = withoutEmptyAdditional(v);
  }
  return out;
}

/** Path or query parameters from a zod object (the query's `token` is the `tokenQuery` security scheme). */
function parameters(schema: z.ZodObject, where: 'path' | 'query'): Json[] {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {})
    .filter(([name]) => !(where === 'query' && name === 'token'))
    .map(([name, s]) => {
      const { description, ...rest } = s;
      return { name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: rest, ...(typeof description === 'string' ? { description } : {}) };
    });
}

/** The error answers of a route: the codes its access and inputs imply plus its own, grouped by HTTP status. */
function errorResponses(doc: RouteDoc, apiErrorRef: Json, errorRef: Json = apiErrorRef): Record<string, Json> {
  const codes = new Set<ErrorCode>(doc.errors ?? []);
  if (doc.access !== 'public') codes.add('UNAUTHORIZED');
  if (doc.access !== 'public' && doc.access !== 'token') codes.add('FORBIDDEN');
  if (doc.params || doc.query || doc.body) codes.add('BAD_CONFIG');
  if (doc.body) codes.add('FRAME_TOO_LARGE');
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(httpStatusOf(code), [...(byStatus.get(httpStatusOf(code)) ?? []), code]);
  // Fastify refuses a body that is not JSON with 415 (code BAD_CONFIG) before the handler runs.
  if (doc.body) byStatus.set(415, ['BAD_CONFIG']);
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    // The auth hook answers 401/403 for every /api/* route before its handler runs: always the API's error body.
    const ref = status === 401 || status === 403 ? apiErrorRef : errorRef;
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${status === 415 ? 'the body is not `application/json`' : ERROR_CODES[c].summary}`).join('; '),
      content: {
        'application/json':
          ref === apiErrorRef
            ? {
                schema: { allOf: [ref, { properties: { code: { enum: list } } }] },
                example: { kind: 'error', code: list[0], message: status === 415 ? 'unsupported content type (send application/json)' : ERROR_CODES[list[0]!].summary },
              }
            : { schema: ref },
      },
    };
  }
  out.default = { description: 'Any other failure (`INTERNAL`, `STORAGE`, `UNAVAILABLE`, ...), with the HTTP status of its code.', content: { 'application/json': { schema: errorRef } } };
  return out;
}

function operation(route: CollectedRoute, doc: RouteDoc, inputs: SchemaSet, outputs: SchemaSet, errorRef: Json): Json {
  const opId = operationIdOf(route.method, route.url);
  const params = [...(doc.params ? parameters(doc.params, 'path') : []), ...(doc.query ? parameters(doc.query, 'query') : [])];
  const responses: Record<string, Json> = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    const type = r.contentType ?? 'application/json';
    const schema = r.schema ? outputs.ref(r.schema, `${pascal(opId)}${status}`) : r.contentType ? { type: 'string', contentMediaType: type } : undefined;
    responses[status] = { description: r.description, ...(schema ? { content: { [type]: { schema } } } : {}) };
  }
  Object.assign(responses, errorResponses(doc, errorRef, doc.errorSchema ? outputs.ref(doc.errorSchema, `${pascal(opId)}Error`) : errorRef));
  return {
    operationId: opId,
    tags: [doc.tag],
    summary: doc.summary,
    description: [doc.description, `**Role.** ${roleSentence(doc)}`].filter(Boolean).join('\n\n'),
    'x-fedweb-role': { access: doc.access, roles: rolesFor(doc.access), ...(doc.ownId ? { ownId: doc.ownId } : {}) },
    ...(doc.websocket ? { 'x-fedweb-websocket': true } : {}),
    security: doc.access === 'public' ? [] : [{ bearerAuth: [] }, { tokenQuery: [] }],
    ...(params.length ? { parameters: params } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: inputs.ref(doc.body, `${pascal(opId)}Body`) } } } } : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of the documented routes (routes without a doc are left out; the test lists them).
 * @example
 * ```ts
 * const doc = buildOpenApi([{ method: 'GET', url: '/api/status', doc: statusDoc }], { title: 'fedweb', version: '0.1.0', description: '' });
 * doc.paths['/api/status'].get.operationId; // 'getApiStatus'
 * ```
 */
export function buildOpenApi(routes: readonly CollectedRoute[], info: OpenApiInfo): Json & { paths: Record<string, Record<string, Json>> } {
  const names = exportedNames();
  const taken = new Set<string>();
  const outputs = new SchemaSet('output', names, taken);
  const inputs = new SchemaSet('input', names, taken);
  const errorRef = outputs.ref(responseSchemas.ApiErrorSchema, 'ApiError');
  // Every response schema is a component, so one nested in another (SessionView in SessionList) is a $ref.
  for (const [schema, name] of names) if (Object.values(responseSchemas).includes(schema as never)) outputs.ref(schema, name);
  const paths: Record<string, Record<string, Json>> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    const doc = route.doc;
    if (!doc) continue;
    if (route.url.includes('*')) throw new Error(`${route.method} ${route.url}: a wildcard route cannot be documented in OpenAPI`);
    const path = openApiPath(route.url);
    const method = route.method.toLowerCase();
    const item = (paths[path] ??= {});
    if (item[method]) throw new Error(`${route.method} ${route.url} is documented twice`);
    item[method] = operation(route, doc, inputs, outputs, errorRef);
    tags.add(doc.tag);
  }
  return {
    openapi: '3.1.0',
    info,
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: { schemas: { ...outputs.components(), ...inputs.components() }, securitySchemes: SECURITY_SCHEMES },
  };
}
