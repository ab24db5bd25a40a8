/**
 * The wire form of a simulation shard or test set (`GET /api/sim/shard`, `GET /api/sim/testset`): encoded by
 * the server's simulation plugin, decoded by pages, Node clients and the simulation harness. Pure TypeScript.
 *
 * ```
 * bytes 0..3   'FWSD' (magic)
 * bytes 4..7   u32 LE: L, the length of the JSON meta (padded with spaces to a multiple of 4)
 * bytes 8..    L bytes of UTF-8 JSON: ShardMeta (always `simulation: true`)
 * then         n * prod(xShape) float32 LE features
 * then         n uint8 labels
 * ```
 */
import { z } from 'zod';
import { fedError } from './errors.js';

export const SHARD_MAGIC = 'FWSD';

/** The meta of a shard body, checked on decode. */
export const ShardMetaSchema = z.object({
  /** Always true: these examples are handed out by a server for demos and simulations only. */
  simulation: z.literal(true),
  kind: z.enum(['shard', 'testset']),
  n: z.number().int().min(0),
  xShape: z.array(z.number().int().min(1)).min(1).max(8),
  numClasses: z.number().int().min(1).max(255),
  /** Examples per class in this shard. */
  labelCounts: z.array(z.number().int().min(0)),
  /** The task (`mnist`, `fashion`). */
  dataset: z.string().max(32).optional(),
  /** Test sets only: which held-out split this is (`test` reports, `validation` tunes). */
  heldOut: z.enum(['validation', 'test']).optional(),
  /** Split, seed and shard index this came from (shards only). */
  split: z.string().optional(),
  seed: z.union([z.number(), z.string()]).optional(),
  shard: z.number().int().min(0).optional(),
  numShards: z.number().int().min(1).optional(),
  note: z.string(),
});
export type ShardMeta = z.infer<typeof ShardMetaSchema>;

export interface DecodedShard {
  meta: ShardMeta;
  x: Float32Array;
  y: Int32Array;
}

/**
 * Encodes examples and their meta as one binary body.
 * @example
 * ```ts
 * const bytes = encodeShard(meta, x, y); // Uint8Array, decode with decodeShard(bytes)
 * ```
 */
export function encodeShard(meta: ShardMeta, x: Float32Array, y: ArrayLike<number>): Uint8Array {
  const per = meta.xShape.reduce((a, b) => a * b, 1);
  if (x.length !== meta.n * per || y.length !== meta.n) throw fedError('INTERNAL', `shard arrays (${x.length}, ${y.length}) do not match n=${meta.n}`);
  let json = JSON.stringify(meta);
  while (new TextEncoder().encode(json).length % 4 !== 0) json += ' ';
  const metaBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + metaBytes.length + x.length * 4 + meta.n);
  out.set(new TextEncoder().encode(SHARD_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, metaBytes.length, true);
  out.set(metaBytes, 8);
  let at = 8 + metaBytes.length;
  for (let i = 0; i < x.length; i++, at += 4) view.setFloat32(at, x[i] as number, true);
  for (let i = 0; i < meta.n; i++) out[at + i] = y[i] as number;
  return out;
}

/**
 * Decodes {@link encodeShard}'s output, checking magic and lengths (FedError `BAD_FRAME` otherwise).
 * @example
 * ```ts
 * const { meta, x, y } = decodeShard(new Uint8Array(await res.arrayBuffer()));
 * ```
 */
export function decodeShard(bytes: Uint8Array): DecodedShard {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== SHARD_MAGIC) throw fedError('BAD_FRAME', 'not a fedweb simulation shard (magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLength = view.getUint32(4, true);
  if (8 + metaLength > bytes.length) throw fedError('BAD_FRAME', `shard meta length ${metaLength} exceeds the body`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + metaLength)));
  } catch (e) {
    throw fedError('BAD_FRAME', `shard meta is not JSON: ${(e as Error).message}`);
  }
  const parsed = ShardMetaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fedError('BAD_FRAME', `shard meta: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const meta = parsed.data;
  const per = meta.xShape.reduce((a, b) => a * b, 1);
  const xStart = 8 + metaLength;
  const expected = xStart + meta.n * per * 4 + meta.n;
  if (bytes.length !== expected) throw fedError('BAD_FRAME', `shard body is ${bytes.length} bytes, expected ${expected}`);
  const x = new Float32Array(meta.n * per);
  for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(xStart + i * 4, true);
  const y = new Int32Array(meta.n);
  const yStart = xStart + x.length * 4;
  for (let i = 0; i < meta.n; i++) y[i] = bytes[yStart + i] as number;
  return { meta, x, y };
}
