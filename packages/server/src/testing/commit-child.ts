/**
 * Test-only child process for the kill-mid-commit tests (store/commit-kill.test.ts): opens the state store at
 * argv[2] (a SQLite file or postgres://) and a blob folder at argv[3], writes a new model blob, prints
 * `blob-written`, waits for a line on stdin (so the parent can kill it there), prints `commit-started` and runs
 * the round commit with argv[4] metric rows (a long transaction the parent kills part-way), then `committed`.
 * Run with `node --import tsx commit-child.ts <state> <blobDir> <metrics>`.
 */
import { once } from 'node:events';
import { openStores } from '../store/open.js';

const [state, blobDir, metricCount] = process.argv.slice(2) as [string, string, string];
const { state: store, blobs } = await openStores({ dataDir: blobDir, state, blobs: blobDir });
const model = await blobs.put(new TextEncoder().encode(`model of round 1, ${Date.now()}`));
console.log(`blob-written ${model.sha256}`);
process.stdin.resume();
await once(process.stdin, 'data');
console.log('commit-started');
await store.commitRound({
  model: { id: 's1.m1', parentId: 'seed', sessionId: 's1', round: 1, sha256: model.sha256, bytes: model.bytes, blobPath: model.path, metrics: {}, createdAt: Date.now() },
  round: {
    id: 's1.r1', sessionId: 's1', round: 1, status: 'committed', startedAt: 1, deadline: null, lastUpdateAt: null, committedAt: Date.now(),
    modelId: 's1.m1', updates: 2, weight: 4, combiners: ['embedded'], partials: [], trainMetrics: {}, validationMetrics: {}, timings: {}, reason: null,
  },
  session: { id: 's1', currentModelId: 's1.m1', completedRounds: 1, strategyState: null, strategyStateSha: null },
  metrics: Array.from({ length: Number(metricCount) }, (_, i) => ({ sessionId: 's1', round: 1, scope: 'server' as const, name: `m${i}`, value: i })),
});
console.log('committed');
await store.close();
