/**
 * The protocol reference generated from the codec's zod schemas (one source of truth): a JSON Schema
 * (draft 2020-12) per message kind, one for the union of all messages, one each for the frame manifest and the
 * compute-package manifest, and an AsyncAPI 3.0 document for the client WebSocket. Written to
 * `packages/codec/docs/` by running this file:
 *
 *     npx tsx packages/codec/scripts/protocol-schemas.ts
 *
 * `src/protocol-schemas.test.ts` fails when the committed files differ from what this produces now.
 * Schemas describe the wire (zod's input side): a field with a default may be left out.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FrameTensorEntrySchema } from '../src/frame.js';
import { ComputePackageManifestSchema, MessageSchema, PROTOCOL_VERSION, type MessageKind } from '../src/messages.js';

/** Which way a message travels. `client` = the client WebSocket (`/ws/client`); `link` = combiner <-> controller. */
export type Direction = 'client->combiner' | 'combiner->client' | 'any' | 'combiner->controller' | 'controller->combiner';

/**
 * Every message kind with its direction and a one-line summary. Typed over every kind, so adding a kind to
 * `MessageSchema` without an entry here fails the typecheck (and `protocol-schemas.test.ts` names it).
 */
export const MESSAGE_KINDS: Record<MessageKind, { direction: Direction; summary: string }> = {
  hello: { direction: 'client->combiner', summary: 'First message on a client socket: who the client is, its token and capabilities.' },
  welcome: { direction: 'combiner->client', summary: 'The combiner accepted hello: heartbeat interval and what to resume.' },
  heartbeat: { direction: 'client->combiner', summary: 'Sent every welcome.heartbeatMs; a client silent for 3 x heartbeatMs is dropped.' },
  'task.train': { direction: 'combiner->client', summary: 'Train on local data from this global model and upload the weight delta.' },
  'model.prefetch': { direction: 'combiner->client', summary: "The session's next model committed: fetch it now (delta or full, as for task.train) so the task finds it cached." },
  'task.validate': { direction: 'combiner->client', summary: 'Evaluate this global model on local validation data.' },
  'task.cancel': { direction: 'combiner->client', summary: 'Stop the named task (or every task of the round).' },
  update: { direction: 'client->combiner', summary: 'Announces an update frame; its binary chunks follow on the same socket.' },
  withdraw: { direction: 'client->combiner', summary: 'The client leaves a round it was selected for (battery, metered connection, hidden page, user): free its slot now.' },
  'update.ack': { direction: 'combiner->client', summary: 'The update was verified and counted.' },
  validation: { direction: 'client->combiner', summary: 'Result of a validate task: example count and metrics.' },
  'combiner.hello': { direction: 'combiner->controller', summary: 'A combiner registers with the controller.' },
  'combiner.status': { direction: 'combiner->controller', summary: "The combiner's connected clients." },
  'round.prepare': { direction: 'controller->combiner', summary: 'Which of your clients are eligible for this round?' },
  'round.ready': { direction: 'combiner->controller', summary: 'The eligible clients for a prepared round.' },
  'round.start': { direction: 'controller->combiner', summary: 'Start your part of a round with these selected clients.' },
  'round.partial': { direction: 'combiner->controller', summary: "A combiner's partial aggregate; its frame follows as binary chunks." },
  'round.abort': { direction: 'controller->combiner', summary: 'Abandon a round.' },
  'model.ready': { direction: 'controller->combiner', summary: 'A round committed: pass its model download on to every client as model.prefetch.' },
  'validate.start': { direction: 'controller->combiner', summary: 'Send validation tasks to these clients.' },
  'validate.partial': { direction: 'combiner->controller', summary: "A combiner's example-weighted validation metric sums." },
  error: { direction: 'any', summary: 'A typed refusal or failure; `ref` names the upload, task or round it answers.' },
};

type JsonObject = Record<string, unknown>;

/** The message schemas in `MessageSchema` order, with their kind. */
export function messageSchemas(): { kind: MessageKind; schema: z.ZodType }[] {
  return MessageSchema.options.map((schema) => ({ kind: schema.shape.kind.value as MessageKind, schema }));
}

/**
 * JSON Schema of a zod schema as it travels (input side). `boundedRecord` maps (a custom check piped into a
 * record) have no JSON form of their own: they are written as the record they validate into, with their key
 * bound (`maxProperties`, from the schema's metadata).
 */
export function jsonSchemaOf(schema: z.ZodType, extra: JsonObject = {}): JsonObject {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    // The only custom schemas are boundedRecord's checks, replaced below by the record they validate into.
    unrepresentable: 'any',
    override: (ctx) => {
      const def = (ctx.zodSchema as unknown as { _zod: { def: { type: string; in?: z.ZodType; out?: z.ZodType } } })._zod.def;
      if (def.type !== 'pipe' || !def.in || !def.out) return;
      if ((def.in as unknown as { _zod: { def: { type: string } } })._zod.def.type !== 'custom') return;
      const record = z.toJSONSchema(def.out, { target: 'draft-2020-12', io: 'output' }) as JsonObject;
      delete record.$schema;
      Object.assign(ctx.jsonSchema, record);
    },
  }) as JsonObject;
  const { $schema, ...rest } = out;
  return { $schema, ...extra, ...rest };
}

/**
 * Every generated file, by path relative to `packages/codec/docs/`, as the text to write.
 * @example
 * ```ts
 * protocolFiles().get('schemas/update.json'); // '{\n  "$schema": ...'
 * ```
 */
export function protocolFiles(): Map<string, string> {
  const files = new Map<string, unknown>();
  const kinds = messageSchemas();
  for (const { kind, schema } of kinds) {
    const info = MESSAGE_KINDS[kind];
    if (!info) throw new Error(`message kind '${kind}' has no entry in MESSAGE_KINDS (packages/codec/scripts/protocol-schemas.ts)`);
    files.set(`schemas/${kind}.json`, jsonSchemaOf(schema, { $id: `${kind}.json`, title: `${kind} (${info.direction})`, description: info.summary }));
  }
  files.set('schemas/message.json', {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'message.json',
    title: `fedweb control message (protocol version ${PROTOCOL_VERSION})`,
    description: 'Any control message: a JSON object discriminated on `kind`, carrying `v`.',
    oneOf: kinds.map(({ kind }) => ({ $ref: `${kind}.json` })),
  });
  files.set(
    'schemas/frame-manifest.json',
    jsonSchemaOf(z.object({ tensors: z.array(FrameTensorEntrySchema) }).strict(), {
      $id: 'frame-manifest.json',
      title: 'Tensor frame manifest',
      description: 'The UTF-8 JSON manifest at offset 16 of every FWF1 frame (see docs/BINARY.md).',
    }),
  );
  files.set(
    'schemas/compute-package-manifest.json',
    jsonSchemaOf(ComputePackageManifestSchema, {
      $id: 'compute-package-manifest.json',
      title: 'Compute package manifest',
      description: 'GET /api/packages/<sha256>/manifest (see docs/PROTOCOL.md).',
    }),
  );
  files.set('asyncapi.json', asyncApi());
  return new Map([...files].map(([path, value]) => [path, JSON.stringify(value, null, 2) + '\n']));
}

/** AsyncAPI 3.0 for the client WebSocket, from the client's side: what it sends and what it receives. */
function asyncApi(): JsonObject {
  const client = messageSchemas().filter(({ kind }) => ['client->combiner', 'combiner->client', 'any'].includes(MESSAGE_KINDS[kind].direction));
  const key = (kind: string) => kind.replace(/\./g, '_');
  const ref = (kind: string) => ({ $ref: `#/channels/combiner/messages/${key(kind)}` });
  const sent = client.filter(({ kind }) => MESSAGE_KINDS[kind].direction !== 'combiner->client').map(({ kind }) => ref(kind)).concat(ref('chunk'));
  const received = client.filter(({ kind }) => MESSAGE_KINDS[kind].direction !== 'client->combiner').map(({ kind }) => ref(kind));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'fedweb client protocol',
      version: String(PROTOCOL_VERSION),
      description:
        'A fedweb client on its combiner WebSocket. Text messages are the JSON control messages below; binary messages are FWC1 chunks of an FWF1 frame (docs/BINARY.md). Walk-through: docs/PROTOCOL.md.',
    },
    channels: {
      combiner: {
        address: '/ws/client',
        title: 'The combiner socket (the URL comes from POST /api/discover)',
        messages: {
          ...Object.fromEntries(
            client.map(({ kind }) => [key(kind), { name: kind, summary: MESSAGE_KINDS[kind].summary, contentType: 'application/json', payload: { $ref: `schemas/${kind}.json` } }]),
          ),
          chunk: {
            name: 'chunk',
            summary: 'A binary WebSocket message: one FWC1 chunk of the frame announced by the preceding `update` (docs/BINARY.md#chunks).',
            contentType: 'application/octet-stream',
            payload: { type: 'string', format: 'binary' },
          },
        },
      },
    },
    operations: {
      send: { action: 'send', channel: { $ref: '#/channels/combiner' }, summary: 'What the client sends.', messages: sent },
      receive: { action: 'receive', channel: { $ref: '#/channels/combiner' }, summary: 'What the combiner sends the client.', messages: received },
    },
  };
}

/** Writes every file of {@link protocolFiles} under `docs/`, removing schema files of kinds that no longer exist. */
function main(): void {
  const docs = fileURLToPath(new URL('../docs/', import.meta.url));
  mkdirSync(`${docs}schemas`, { recursive: true });
  const files = protocolFiles();
  for (const name of readdirSync(`${docs}schemas`)) if (!files.has(`schemas/${name}`)) rmSync(`${docs}schemas/${name}`);
  for (const [path, text] of files) writeFileSync(`${docs}${path}`, text);
  console.log(`wrote ${files.size} files to ${docs}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
