/**
 * The protocol documents (`packages/codec/docs/*.md`) cannot drift from the code: every example in them goes
 * through the real parsers and decoders.
 *
 *  - ```json message                   parsed by `parseMessage` (the text as written): must be accepted;
 *  - ```json refused CODE              must be refused by `parseMessage` with that error code;
 *  - ```json frame-manifest [refused CODE]   a frame with that manifest (zero body) through `readFrameHeader`;
 *  - ```hex chunk                      one binary WebSocket message (`OFFSET: hex bytes  # comment` lines),
 *                                      parsed by `parseChunk`; consecutive ones are reassembled by
 *                                      `ChunkAssembler`, decoded by `decodeFrame`, and compared with the next
 *                                      ```json tensors block; the `update` example announcing their uploadId must
 *                                      carry the frame's sha256, byteLength and chunkCount;
 *  - every other ```json block is an error (an example nobody checks), and every message kind needs an example.
 *
 * The error table and the codec limits table of REFERENCE.md are compared with the code, and relative links
 * must point at files that exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as codec from './index.js';
import { MAX_NAME_LENGTH, MAX_RANK } from './frame.js';

const docsDir = fileURLToPath(new URL('../docs/', import.meta.url));
const docNames = readdirSync(docsDir).filter((n) => n.endsWith('.md')).sort();

interface Block {
  file: string;
  line: number;
  lang: string;
  tags: string[];
  text: string;
}

/** Every fenced block of a markdown text, with its info string split into language and tags. */
function blocks(file: string, markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ file, line: start + 1, lang: open[1]!, tags: open[2]!.split(/\s+/).filter(Boolean), text: body.join('\n') });
  }
  return out;
}

const where = (b: Block) => `docs/${b.file}:${b.line}`;
const all = docNames.flatMap((name) => blocks(name, readFileSync(`${docsDir}${name}`, 'utf8')));
const messages = all.filter((b) => b.lang === 'json' && b.tags[0] === 'message');

/** Bytes of a ```hex block; an `OFFSET:` prefix must equal the bytes read so far. */
function hexBytes(b: Block): Uint8Array {
  const bytes: number[] = [];
  for (const raw of b.text.split('\n')) {
    let line = raw.split('#')[0]!.trim();
    if (!line) continue;
    const off = /^([0-9a-fA-F]+):\s*(.*)$/.exec(line);
    if (off) {
      expect(parseInt(off[1]!, 16), `${where(b)}: offset ${off[1]} of line "${raw.trim()}"`).toBe(bytes.length);
      line = off[2]!;
    }
    for (const pair of line.split(/\s+/).filter(Boolean)) {
      expect(pair, `${where(b)}: "${pair}" is not a hex byte`).toMatch(/^[0-9a-fA-F]{2}$/);
      bytes.push(parseInt(pair, 16));
    }
  }
  return new Uint8Array(bytes);
}

/** A frame whose manifest is `json` and whose body is zeros up to the manifest's furthest payload end. */
function frameWithManifest(json: string): Uint8Array {
  const manifest = new TextEncoder().encode(JSON.stringify(JSON.parse(json)));
  const entries = (JSON.parse(json) as { tensors?: { byteOffset?: number; byteLength?: number }[] }).tensors ?? [];
  const bodyBytes = Math.max(0, ...entries.map((e) => (e.byteOffset ?? 0) + (e.byteLength ?? 0)));
  const bodyAt = Math.ceil((codec.FRAME_HEADER_BYTES + manifest.length) / 8) * 8;
  const frame = new Uint8Array(bodyAt + bodyBytes);
  frame.set(new TextEncoder().encode(codec.FRAME_MAGIC), 0);
  const dv = new DataView(frame.buffer);
  dv.setUint8(4, codec.FRAME_VERSION);
  dv.setUint32(8, manifest.length, true);
  dv.setUint32(12, bodyBytes, true);
  frame.set(manifest, codec.FRAME_HEADER_BYTES);
  return frame;
}

describe('protocol docs: every example goes through the real schemas and decoders', () => {
  it('finds the documents and their examples', () => {
    expect(docNames).toEqual(expect.arrayContaining(['PROTOCOL.md', 'BINARY.md', 'REFERENCE.md', 'LINK.md']));
    expect(messages.length).toBeGreaterThan(20);
  });

  it('every ```json block is a checked kind of example', () => {
    const known = ['message', 'refused', 'frame-manifest', 'tensors'];
    for (const b of all.filter((x) => x.lang === 'json')) {
      expect(known, `${where(b)}: \`\`\`json ${b.tags.join(' ')} is not checked by this test; tag it (${known.join(', ')})`).toContain(b.tags[0]);
    }
  });

  it('accepts every ```json message example', () => {
    for (const b of messages) {
      const r = codec.parseMessage(b.text);
      expect(r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`, `${where(b)}: this example must be a valid message`).toBe('ok');
    }
  });

  it('refuses every ```json refused example with the code it names', () => {
    const refused = all.filter((b) => b.lang === 'json' && b.tags[0] === 'refused');
    expect(refused.length).toBeGreaterThan(3);
    for (const b of refused) {
      const r = codec.parseMessage(b.text);
      expect(r.ok, `${where(b)}: this example must be refused`).toBe(false);
      if (!r.ok && b.tags[1]) expect(r.error.code, `${where(b)}: ${r.error.message}`).toBe(b.tags[1]);
    }
  });

  it('has at least one ```json message example of every message kind', () => {
    const shown = new Set(messages.map((b) => (JSON.parse(b.text) as { kind: string }).kind));
    const kinds = codec.MessageSchema.options.map((s) => s.shape.kind.value as string);
    const missing = kinds.filter((k) => !shown.has(k));
    expect(missing, `message kinds without a \`\`\`json message example in packages/codec/docs/*.md (add one where the kind is described): ${missing.join(', ')}`).toEqual([]);
  });

  it('reads every ```json frame-manifest example with the real frame header reader', () => {
    const manifests = all.filter((b) => b.lang === 'json' && b.tags[0] === 'frame-manifest');
    expect(manifests.length).toBeGreaterThan(1);
    for (const b of manifests) {
      const run = () => codec.readFrameHeader(frameWithManifest(b.text));
      if (b.tags[1] !== 'refused') {
        expect(run, `${where(b)}: this manifest must be accepted`).not.toThrow();
        continue;
      }
      let code: string | undefined;
      try {
        run();
      } catch (e) {
        code = codec.toFedError(e).code;
      }
      expect(code, `${where(b)}: this manifest must be refused`).toBe(b.tags[2] ?? code ?? 'a refusal');
    }
  });

  it('decodes every ```hex chunk group with the real chunk and frame decoders, as announced by its update', async () => {
    let group: { block: Block; bytes: Uint8Array }[] = [];
    let checked = 0;
    for (const b of all) {
      if (b.lang === 'hex') {
        expect(b.tags, `${where(b)}: hex blocks are \`\`\`hex chunk`).toEqual(['chunk']);
        group.push({ block: b, bytes: hexBytes(b) });
        continue;
      }
      if (!(b.lang === 'json' && b.tags[0] === 'tensors')) continue;
      expect(group.length, `${where(b)}: a \`\`\`json tensors block must follow \`\`\`hex chunk blocks`).toBeGreaterThan(0);
      const first = codec.parseChunk(group[0]!.bytes);
      const asm = new codec.ChunkAssembler({ uploadId: first.uploadId, chunkCount: first.count, totalBytes: first.totalBytes });
      let frame: Uint8Array | null = null;
      for (const c of group) frame = asm.push(c.bytes);
      expect(frame, `${where(group[0]!.block)}: chunks ${asm.missing().join(', ')} of upload ${first.uploadId} are missing`).not.toBeNull();
      const announced = messages.map((m) => JSON.parse(m.text) as Record<string, unknown>).find((m) => m.kind === 'update' && m.uploadId === first.uploadId);
      expect(announced, `${where(group[0]!.block)}: no \`\`\`json message update announces upload ${first.uploadId}`).toBeDefined();
      const what = `${where(group[0]!.block)}: the update example announcing ${first.uploadId} must describe the frame its chunks carry`;
      expect({ sha256: announced!.sha256, byteLength: announced!.byteLength, chunkCount: announced!.chunkCount }, what).toEqual({
        sha256: await codec.sha256Hex(frame!),
        byteLength: frame!.length,
        chunkCount: group.length,
      });
      const decoded = await codec.decodeFrame(frame!, { compressor: codec.fflateCompressor });
      const expected = JSON.parse(b.text) as { name: string; shape: number[]; data: number[] }[];
      expect(decoded.map((t) => ({ name: t.name, shape: t.shape }))).toEqual(expected.map((t) => ({ name: t.name, shape: t.shape })));
      decoded.forEach((t, i) => {
        const want = expected[i]!.data;
        expect(t.data.length, `${where(b)}: ${t.name}`).toBe(want.length);
        t.data.forEach((v, j) => expect(Math.abs(v - want[j]!), `${where(b)}: ${t.name}[${j}] = ${v}, the doc says ${want[j]}`).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(v))));
      });
      checked++;
      group = [];
    }
    expect(group, 'a ```hex chunk group without a ```json tensors block after it').toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(2);
  });

  it('states every error code with its retryable flag and HTTP status as in ERROR_CODES', () => {
    const text = readFileSync(`${docsDir}REFERENCE.md`, 'utf8');
    const rows = new Map([...text.matchAll(/^\| `([A-Z_]+)` \| (yes|no) \| (\d+) \|/gm)].map((m) => [m[1]!, { retryable: m[2] === 'yes', http: Number(m[3]) }]));
    for (const code of codec.ERROR_CODE_NAMES) {
      const { retryable, http } = codec.ERROR_CODES[code];
      expect(rows.get(code), `REFERENCE.md's error table lacks or misstates ${code}`).toEqual({ retryable, http });
    }
    expect([...rows.keys()].filter((c) => !(c in codec.ERROR_CODES))).toEqual([]);
  });

  it('states the codec limits as the code has them', () => {
    const text = readFileSync(`${docsDir}REFERENCE.md`, 'utf8');
    const constants: Record<string, unknown> = { ...codec, MAX_NAME_LENGTH, MAX_RANK };
    const rows = [...text.matchAll(/^\| `([A-Za-z_][A-Za-z0-9_.]*)` \| (\d+) \|/gm)];
    const stated = new Set<string>();
    for (const [, name, value] of rows) {
      const actual = name!.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], constants);
      if (actual === undefined) continue; // a server or SDK option, not a codec constant
      expect(actual, `REFERENCE.md says ${name} = ${value}`).toBe(Number(value));
      stated.add(name!);
    }
    for (const name of ['PROTOCOL_VERSION', 'MAX_MESSAGE_BYTES', 'MAX_JSON_DEPTH', 'MAX_MAP_KEYS', 'MAX_MAP_KEY_LENGTH', 'DEFAULT_CHUNK_SIZE', 'DEFAULT_CHUNK_WINDOW', 'MAX_BLOCK_SIZE', 'DEFAULT_BLOCK_SIZE']) {
      expect(stated.has(name), `REFERENCE.md's limits table lacks ${name}`).toBe(true);
    }
  });

  it('links only to files that exist', () => {
    for (const name of docNames) {
      const text = readFileSync(`${docsDir}${name}`, 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        expect(existsSync(resolve(dirname(`${docsDir}${name}`), target!)), `docs/${name} links to ${target}, which does not exist`).toBe(true);
      }
    }
  });
});
