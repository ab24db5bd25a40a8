/**
 * The generated protocol reference (`docs/schemas/*.json`, `docs/asyncapi.json`) cannot drift from the zod
 * schemas: the committed files must equal what `scripts/protocol-schemas.ts` produces now, every message kind has
 * a schema file, and the JSON Schemas agree with the zod schemas on messages (checked with Ajv).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS, messageSchemas, protocolFiles } from '../scripts/protocol-schemas.js';
import { MessageSchema, PROTOCOL_VERSION as v } from './messages.js';

const docs = fileURLToPath(new URL('../docs/', import.meta.url));
const REGENERATE = 'regenerate with `npx tsx packages/codec/scripts/protocol-schemas.ts` and commit the result';

describe('protocol reference (generated)', () => {
  const files = protocolFiles();

  it('the committed files equal what the generator produces now', () => {
    for (const [path, text] of files) {
      let committed: string | undefined;
      try {
        committed = readFileSync(`${docs}${path}`, 'utf8');
      } catch {
        committed = undefined;
      }
      expect(committed, `docs/${path} is missing or out of date: ${REGENERATE}`).toBe(text);
    }
    const stale = readdirSync(`${docs}schemas`).filter((name) => !files.has(`schemas/${name}`));
    expect(stale, `docs/schemas holds files no schema produces: ${REGENERATE}`).toEqual([]);
  });

  it('every message kind has a schema file and an entry in MESSAGE_KINDS', () => {
    const kinds = MessageSchema.options.map((s) => s.shape.kind.value as string);
    expect(kinds.length).toBeGreaterThan(10);
    for (const kind of kinds) {
      expect(MESSAGE_KINDS[kind as keyof typeof MESSAGE_KINDS], `message kind '${kind}' has no entry in MESSAGE_KINDS (packages/codec/scripts/protocol-schemas.ts)`).toBeDefined();
      expect(files.has(`schemas/${kind}.json`), `message kind '${kind}' has no docs/schemas/${kind}.json: ${REGENERATE}`).toBe(true);
    }
    expect(Object.keys(MESSAGE_KINDS).sort()).toEqual([...kinds].sort());
  });

  it('the JSON Schemas accept what zod accepts and refuse unknown keys, a wrong v and a bad sha256', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    for (const [path, text] of files) if (path.startsWith('schemas/')) ajv.addSchema(JSON.parse(text) as object);
    const anyMessage = ajv.getSchema('message.json')!;
    const sha = 'ab'.repeat(32);
    const update = { v, kind: 'update', taskId: 't1', roundId: 'r1', uploadId: 'u1', numExamples: 3, sha256: sha, byteLength: 10, chunkCount: 1 };
    const cases: [unknown, boolean][] = [
      [update, true],
      [{ ...update, metrics: { loss: 0.5 } }, true],
      [{ ...update, extra: 1 }, false],
      [{ ...update, v: v + 1 }, false],
      [{ ...update, sha256: sha.toUpperCase() }, false],
      [{ ...update, numExamples: 0 }, false],
      [{ ...update, numExamples: 1.5 }, false],
      [{ ...update, metrics: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`m${i}`, i])) }, false],
      [{ v, kind: 'heartbeat', t: 1 }, true],
      [{ v, kind: 'heartbeat' }, false],
      [{ v, kind: 'nope' }, false],
    ];
    for (const [msg, ok] of cases) {
      expect(MessageSchema.safeParse(msg).success, `zod on ${JSON.stringify(msg).slice(0, 80)}`).toBe(ok);
      expect(anyMessage(msg), `JSON Schema on ${JSON.stringify(msg).slice(0, 80)}`).toBe(ok);
    }
    // Each per-kind schema refuses a message of another kind.
    for (const { kind } of messageSchemas()) if (kind !== 'update') expect(ajv.getSchema(`${kind}.json`)!(update)).toBe(false);
  });
});
