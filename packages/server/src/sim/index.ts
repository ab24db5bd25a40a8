/**
 * Simulation mode (demos and research runs only): MNIST / Fashion-MNIST shards per simulated client and the
 * held-out validation and test splits, served as a Fastify plugin. See `routes.ts`.
 */
export { simRoutes, simShards, testOrder, SIM_NOTE, type SimOptions, type SimShards } from './routes.js';
export { parseSplit, formatSplit, partition, labelHistogram, type SplitSpec, type PartitionOptions } from './split.js';
export { DATASETS, HELD_OUT, loadDataset, parseDataset, type DatasetName, type HeldOut } from './datasets.js';
export { loadFashionMnist, FASHION_CLASSES, FASHION_DIR } from './fashion.js';
export { parseIdx, readIdxGz, type IdxArray } from './idx.js';
export { cnn, CNN_LAYOUT, CNN_PARAMS } from './cnn.js';
export { loadMnist, gather, IMAGE_SIZE, PIXELS, NUM_CLASSES, TEST_PER_CLASS, VALIDATION_PER_CLASS, type MnistSet, type MnistData } from './mnist.js';
export { encodeShard, decodeShard, SHARD_MAGIC, type ShardMeta, type DecodedShard } from '@fedweb/codec';
