/**
 * The Node trainer's `worker_thread` (started by {@link createThreadTrainer} through node-worker-entry.mjs): the
 * same trainer as in-process, exposed over comlink on `parentPort`. Package code runs here, never on the client's
 * event loop, so a package that loops forever cannot stop heartbeats, and terminating the thread stops it.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { nodeZlibCompressor } from '@fedweb/codec/node';
import { createTrainer } from './trainer.js';
import { exposeTrainer } from './expose.js';
import { nodeBackends } from './in-process.js';

if (!parentPort) throw new Error('node-worker.ts runs as a worker_thread (see createThreadTrainer)');
const trainer = createTrainer(tf, { compressor: nodeZlibCompressor, backends: nodeBackends });
Comlink.expose(exposeTrainer(trainer, () => tf.getBackend()), nodeEndpoint(parentPort));
