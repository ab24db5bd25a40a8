/**
 * Simulation mode (demos and research runs only): MNIST shards per simulated client and the held-out
 * test set, served as a Fastify plugin. See `routes.ts`.
 */
export { simRoutes, simShards, testOrder, SIM_NOTE, type SimOptions, type SimShards } from './routes.js';
export { parseSplit, formatSplit, partition, labelHistogram, type SplitSpec, type PartitionOptions } from './split.js';
export { loadMnist, gather, IMAGE_SIZE, PIXELS, NUM_CLASSES, TEST_PER_CLASS, type MnistSet, type MnistData } from './mnist.js';
export { encodeShard, decodeShard, SHARD_MAGIC, type ShardMeta, type DecodedShard } from '@fedweb/codec';
