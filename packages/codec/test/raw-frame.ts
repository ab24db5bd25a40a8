/**
 * Test helper: assembles a frame from parts without any of the encoder's checks, so tests can build
 * exactly the malformed frames they want to see rejected.
 */
import { createRng } from '../src/prng.js';

export interface RawFrameParts {
  manifest: unknown;
  body: Uint8Array;
  flags?: number;
  version?: number;
  /** Overrides the B field (default: body.length). */
  bodyBytes?: number;
  /** Overrides the M field (default: the manifest's byte length). */
  manifestBytes?: number;
  magic?: string;
}

export function rawFrame(p: RawFrameParts): Uint8Array {
  const m = typeof p.manifest === 'string' ? new TextEncoder().encode(p.manifest) : new TextEncoder().encode(JSON.stringify(p.manifest));
  const bodyOffset = Math.ceil((16 + m.length) / 8) * 8;
  const f = new Uint8Array(bodyOffset + p.body.length);
  f.set(new TextEncoder().encode(p.magic ?? 'FWF1'), 0);
  const dv = new DataView(f.buffer);
  dv.setUint8(4, p.version ?? 1);
  dv.setUint8(5, p.flags ?? 0);
  dv.setUint32(8, p.manifestBytes ?? m.length, true);
  dv.setUint32(12, p.bodyBytes ?? p.body.length, true);
  f.set(m, 16);
  f.set(p.body, bodyOffset);
  return f;
}

/** Splits a frame into its manifest (parsed) and stored body. */
export function splitFrame(frame: Uint8Array): { manifest: { tensors: Record<string, unknown>[] }; body: Uint8Array; flags: number } {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const m = dv.getUint32(8, true);
  const bodyOffset = Math.ceil((16 + m) / 8) * 8;
  return {
    manifest: JSON.parse(new TextDecoder().decode(frame.subarray(16, 16 + m))),
    body: frame.slice(bodyOffset),
    flags: frame[5]!,
  };
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** The codec's seeded generator as a function, so fuzz failures reproduce from their seed. */
export function prng(seed: number): () => number {
  return createRng(seed).next;
}
