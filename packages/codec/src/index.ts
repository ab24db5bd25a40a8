/**
 * @fedweb/codec: the wire format every fedweb tier speaks. Pure TypeScript (browsers, workers, Node).
 *
 * Public surface (implemented in the modules below):
 *  - errors:   ERROR_CODES, FedError, fedError, isFedError, toFedError
 *  - messages: PROTOCOL_VERSION, MessageSchema (+ one schema per kind), parseMessage, expectMessage, encodeMessage, errorMessage
 *  - frames:   encodeFrame(tensors, opts) / decodeFrame(bytes, opts) / readFrameHeader(bytes)
 *  - int8:     quantizeInt8 / dequantizeInt8 (block-wise symmetric)
 *  - top-k:    selectTopK, ErrorFeedback (residual carried to the next round)
 *  - deflate:  fflateCompressor (portable), createCompressionStreamCompressor (browsers); node:zlib adapter lives in the server
 *  - chunks:   splitIntoChunks / ChunkAssembler (bounded reassembly)
 *  - hash:     sha256Hex (WebCrypto)
 *  - fold:     foldInto(acc, frame, weight, opts): the server's streaming weighted-sum hot loop
 *  - layout:   layoutSize, flattenTensors, unflattenTensors
 */
export * from './errors.js';
export * from './messages.js';
export * from './types.js';
