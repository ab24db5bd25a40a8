/**
 * Decodes the simulation shard / test set the server serves at `/api/sim/shard` and `/api/sim/testset`
 * (wire form documented in `packages/server/src/sim/format.ts`: 'FWSD', u32 meta length, JSON meta,
 * float32 pixels, uint8 labels). The page only ever sees these in simulation mode.
 */

export interface ShardMeta {
  simulation: true;
  kind: 'shard' | 'testset';
  n: number;
  xShape: number[];
  numClasses: number;
  labelCounts: number[];
  split?: string;
  seed?: number | string;
  shard?: number;
  numShards?: number;
  note: string;
}

export interface Shard {
  meta: ShardMeta;
  x: Float32Array;
  y: Int32Array;
}

/**
 * Parses a shard body, refusing anything malformed.
 * @example
 * ```ts
 * const shard = decodeShard(await (await fetch('/api/sim/shard?client=tab-1')).arrayBuffer());
 * ```
 */
export function decodeShard(buffer: ArrayBuffer): Shard {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'FWSD') throw new Error('not a fedweb simulation shard');
  const view = new DataView(buffer);
  const metaLength = view.getUint32(4, true);
  if (8 + metaLength > bytes.length) throw new Error('shard meta runs past the body');
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + metaLength))) as ShardMeta;
  const per = meta.xShape.reduce((a, b) => a * b, 1);
  const xStart = 8 + metaLength;
  if (meta.simulation !== true || bytes.length !== xStart + meta.n * per * 4 + meta.n) throw new Error('shard body has the wrong length');
  // Little-endian on every platform that runs browsers today; copy so the arrays own aligned buffers.
  const x = new Float32Array(buffer.slice(xStart, xStart + meta.n * per * 4));
  const y = Int32Array.from(bytes.subarray(xStart + meta.n * per * 4));
  return { meta, x, y };
}
