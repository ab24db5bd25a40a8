/**
 * @fedweb/codec: the wire format every fedweb tier speaks. Pure TypeScript (browsers, workers, Node).
 *
 * Public surface:
 *  - errors:   ERROR_CODES, FedError, fedError, isFedError, toFedError
 *  - messages: PROTOCOL_VERSION, MessageSchema (+ one schema per kind), parseMessage, expectMessage, encodeMessage, errorMessage
 *  - conditions: DeviceConditionsSchema / conditionBreach: the battery, connection and visibility rules of selection and withdrawal
 *  - frames:   encodeFrame(tensors, opts) / decodeFrame(bytes, opts) / readFrameHeader(bytes)
 *  - int8/int4: quantizeInt8 / dequantizeInt8, quantizeInt4 / dequantizeInt4 (block-wise symmetric; nearest or
 *              stochastic rounding)
 *  - top-k:    selectTopK, ErrorFeedback (residual carried to the next round)
 *  - deflate:  fflateCompressor (portable), createCompressionStreamCompressor (browsers); node:zlib in '@fedweb/codec/node'
 *  - chunks:   splitIntoChunks / parseChunk / ChunkAssembler (bounded reassembly)
 *  - hash:     sha256Hex (WebCrypto)
 *  - signing:  verifyPackageSignature / packageSigningPayload / parsePackagePublicKey: Ed25519 package signatures
 *  - fold:     foldInto(acc, frame, weight, opts): the server's streaming weighted-sum hot loop; parseFrame once,
 *              then parsedStats + foldParsed (screen and fold without inflating twice); parseBody for workers
 *  - deltas:   encodeModelDelta / applyModelDelta / weightsSha256: delta downloads with download-side error feedback
 *  - layout:   layoutSize, flattenTensors, unflattenTensors
 *  - shards:   encodeShard / decodeShard (simulation-mode data bodies, `/api/sim/*`)
 *  - fedsgd:   FedSgdSettingsSchema / parseFedSgdSettings (`settings.strategy.fedsgd` of gradient-mode tasks)
 *  - backoff:  backoffDelay / Backoff: the one reconnect backoff (equal jitter)
 *  - prng:     createRng / mixSeed / shuffleInPlace: the one seeded generator (never for secrets)
 *  - deadline: withTimeout / abortReason: every boundary await gets a timeout and an AbortSignal
 *  - limits:   MAX_JSON_DEPTH / jsonDepth / boundedRecord: bounds on untrusted JSON (depth, map keys)
 *  - http:     httpCall / requestJson / requestBytes: the one JSON-over-fetch core (timeout, bounded body, FedError)
 */
export * from './errors.js';
export * from './messages.js';
export { DeviceConditionsSchema, WITHDRAW_REASONS, conditionBreach, hasConditions, type DeviceConditions, type WithdrawReason } from './conditions.js';
export * from './types.js';
export { FedSgdSettingsSchema, parseFedSgdSettings, type FedSgdSettings } from './fedsgd.js';
export { MAX_JSON_DEPTH, MAX_MAP_KEYS, MAX_MAP_KEY_LENGTH, boundedRecord, jsonDepth, valueDepth, Sha256HexSchema, CountSchema } from './limits.js';
export {
  FRAME_MAGIC,
  FRAME_VERSION,
  FRAME_HEADER_BYTES,
  MAX_MANIFEST_BYTES,
  DEFAULT_FRAME_LIMITS,
  FrameTensorEntrySchema,
  decodeFrame,
  decodeParsed,
  readFrameHeader,
  type FrameTensorEntry,
  type FrameHeader,
  type DecodeFrameOptions,
} from './frame.js';
export { encodeFrame, type EncodeFrameOptions } from './frame-encode.js';
export { frameStats, parsedStats, type FrameStats } from './frame-stats.js';
export { parseFrame, parseBody, checkFrameLayout, type ParsedFrame, type ParsedTensor } from './frame-parse.js';
export { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, quantizeInt8, dequantizeInt8, type Int8Quantized, type Rounding, type RoundingOptions } from './quantize.js';
export { MAX_INT4_SCALE, quantizeInt4, dequantizeInt4, type Int4Quantized } from './quantize-int4.js';
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
export { foldInto, foldParsed, type FoldOptions } from './fold.js';
export { layoutSize, shapeSize, flattenTensors, unflattenTensors } from './layout.js';
export { SHARD_MAGIC, ShardMetaSchema, encodeShard, decodeShard, type ShardMeta, type DecodedShard } from './shard.js';
export { createRng, hashSeed, mixSeed, shuffleInPlace, type Rng } from './prng.js';
export { backoffDelay, Backoff, type BackoffOptions } from './backoff.js';
export { abortReason, sleep, withTimeout } from './deadline.js';
export { formatBytes } from './format.js';
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
