/**
 * @fedweb/codec: the wire format every fedweb tier speaks. Pure TypeScript (browsers, workers, Node).
 *
 * Public surface:
 *  - errors:   ERROR_CODES, FedError, fedError, isFedError, toFedError
 *  - messages: PROTOCOL_VERSION, MessageSchema (+ one schema per kind), parseMessage, expectMessage, encodeMessage, errorMessage
 *  - frames:   encodeFrame(tensors, opts) / decodeFrame(bytes, opts) / readFrameHeader(bytes)
 *  - int8:     quantizeInt8 / dequantizeInt8 (block-wise symmetric)
 *  - top-k:    selectTopK, ErrorFeedback (residual carried to the next round)
 *  - deflate:  fflateCompressor (portable), createCompressionStreamCompressor (browsers); node:zlib in '@fedweb/codec/node'
 *  - chunks:   splitIntoChunks / parseChunk / ChunkAssembler (bounded reassembly)
 *  - hash:     sha256Hex (WebCrypto)
 *  - signing:  verifyPackageSignature / packageSigningPayload / parsePackagePublicKey: Ed25519 package signatures
 *  - deltas:   encodeModelDelta / applyModelDelta / weightsSha256: delta downloads with download-side error feedback
  - fold:     foldInto(acc, frame, weight, opts): the server's streaming weighted-sum hot loop
 *  - layout:   layoutSize, flattenTensors, unflattenTensors
 *  - shards:   encodeShard / decodeShard (simulation-mode data bodies, `/api/sim/*`)
 *  - backoff:  backoffDelay / Backoff: the one reconnect backoff (equal jitter)
 *  - prng:     createRng / mixSeed / shuffleInPlace: the one seeded generator (never for secrets)
 *  - deadline: withTimeout / abortReason: every boundary await gets a timeout and an AbortSignal
 *  - limits:   MAX_JSON_DEPTH / jsonDepth / boundedRecord: bounds on untrusted JSON (depth, map keys)
 *  - http:     httpCall / requestJson / requestBytes: the one JSON-over-fetch core (timeout, bounded body, FedError)
 */
export * from './errors.js';
export * from './messages.js';
export * from './types.js';
export { MAX_JSON_DEPTH, MAX_MAP_KEYS, MAX_MAP_KEY_LENGTH, boundedRecord, jsonDepth, valueDepth } from './limits.js';
export {
  FRAME_MAGIC,
  FRAME_VERSION,
  FRAME_HEADER_BYTES,
  MAX_MANIFEST_BYTES,
  DEFAULT_FRAME_LIMITS,
  FrameTensorEntrySchema,
  decodeFrame,
  readFrameHeader,
  type FrameTensorEntry,
  type FrameHeader,
  type DecodeFrameOptions,
} from './frame.js';
export { encodeFrame, type EncodeFrameOptions } from './frame-encode.js';
export { frameStats, type FrameStats } from './frame-stats.js';
export { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, quantizeInt8, dequantizeInt8, type Int8Quantized } from './quantize.js';
export { selectTopK, ErrorFeedback, type TopK } from './topk.js';
export { fflateCompressor, createCompressionStreamCompressor, deflateRawSync, inflateRawSync, DEFLATE_LEVEL } from './compress.js';
export {
  CHUNK_MAGIC,
  CHUNK_VERSION,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_CHUNK_WINDOW,
  splitIntoChunks,
  parseChunk,
  ChunkAssembler,
  type Chunk,
  type ChunkAssemblerOptions,
} from './chunks.js';
export { sha256Hex } from './hash.js';
export {
  PackageSignatureSchema,
  packageKeyId,
  packageSigningPayload,
  parsePackagePublicKey,
  verifyPackageSignature,
  type PackageSignature,
} from './package-signature.js';
export { foldInto, type FoldOptions } from './fold.js';
export { layoutSize, shapeSize, flattenTensors, unflattenTensors } from './layout.js';
export { SHARD_MAGIC, ShardMetaSchema, encodeShard, decodeShard, type ShardMeta, type DecodedShard } from './shard.js';
export { createRng, hashSeed, mixSeed, shuffleInPlace, type Rng } from './prng.js';
export { backoffDelay, Backoff, type BackoffOptions } from './backoff.js';
export { abortReason, sleep, withTimeout } from './deadline.js';
export {
  DEFAULT_HTTP_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
  httpCall,
  httpErrorFrom,
  readBodyBounded,
  requestBytes,
  requestJson,
  type FetchLike,
  type HttpCall,
  type HttpResult,
} from './http.js';
export { applyModelDelta, encodeModelDelta, weightsSha256, type ModelDeltaStep } from './model-delta.js';
