/** The SHA-256 an upload is checked against is computed chunk by chunk as it arrives, in order whatever the arrival order. */
import { describe, expect, it } from 'vitest';
import { createRng, shuffleInPlace, splitIntoChunks, type MessageOf } from '@fedweb/codec';
import { sha256Node } from '../store/fs-blob-store.js';
import type { ClientConn } from './clients.js';
import { UploadBuffer } from './uploads.js';

const frame = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);
const chunks = splitIntoChunks(frame, { uploadId: 'u1', chunkSize: 4096 });
const msg = { v: 2, kind: 'update', taskId: 't', roundId: 'r', uploadId: 'u1', numExamples: 1, metrics: {}, sha256: sha256Node(frame), byteLength: frame.length, chunkCount: chunks.length } as MessageOf<'update'>;

describe('UploadBuffer hashing', () => {
  it('hashes chunks in order as they arrive, including chunks that arrive ahead of a missing one', () => {
    for (const seed of [1, 2, 3]) {
      // Reorder within blocks of 8 (inside the assembler's window of 16).
      const order: number[] = [];
      for (let b = 0; b < chunks.length; b += 8) order.push(...shuffleInPlace(Array.from({ length: Math.min(8, chunks.length - b) }, (_, i) => b + i), createRng(seed)));
      const uploads = new UploadBuffer(1 << 20);
      const conn = {} as ClientConn;
      uploads.begin(conn, msg, 1 << 20);
      let last = null;
      for (const i of order) last = uploads.push(conn, chunks[i]!);
      expect(last).toMatchObject({ kind: 'frame', sha256: msg.sha256 });
      if (last?.kind === 'frame') expect(last.frame).toEqual(frame);
    }
  });

  it('a damaged chunk gives a different hash (the admission refuses it as HASH_MISMATCH)', () => {
    const uploads = new UploadBuffer(1 << 20);
    const conn = {} as ClientConn;
    uploads.begin(conn, msg, 1 << 20);
    let last = null;
    for (const [i, c] of chunks.entries()) {
      const copy = c.slice();
      if (i === 5) copy[copy.length - 1] = copy[copy.length - 1]! ^ 1;
      last = uploads.push(conn, copy);
    }
    expect(last?.kind === 'frame' && last.sha256).not.toBe(msg.sha256);
  });
});
