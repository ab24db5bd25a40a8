/** Shared tensor and frame types. Pure TypeScript: no tfjs, DOM or Node types. */

/** A named float32 tensor, flat row-major data. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Names and shapes of a model's weights, in order; the flat layout is their concatenation. */
export interface TensorSpec {
  name: string;
  shape: number[];
}

/** Tensor encodings a frame may use. */
export type Encoding = 'f32' | 'int8' | 'int4' | 'topk';

/**
 * A compressor adapter (raw deflate, RFC 1951). The codec is pure; platforms inject one:
 * `node:zlib` on the server, `CompressionStream('deflate-raw')` in browsers, fflate everywhere.
 * `inflate` must fail with `FRAME_TOO_LARGE` rather than produce more than `maxOutputBytes`.
 */
export interface Compressor {
  readonly name: string;
  deflate(data: Uint8Array): Promise<Uint8Array>;
  inflate(data: Uint8Array, maxOutputBytes: number): Promise<Uint8Array>;
}

/** Bounds applied when decoding anything that came from a peer. */
export interface FrameLimits {
  /** Largest frame accepted, bytes (default 512 MiB). */
  maxFrameBytes: number;
  /** Largest inflated body, bytes (default 1 GiB). */
  maxBodyBytes: number;
  /** Most tensors in one frame (default 4096). */
  maxTensors: number;
  /** Most elements in one frame (default 256 Mi). */
  maxElements: number;
}
