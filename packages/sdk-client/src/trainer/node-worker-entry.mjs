// The entry of the Node trainer's worker_thread. The SDK ships TypeScript sources (its `exports` point at them),
// so the thread registers tsx's loader, as the fedweb CLI does, before importing the worker (node-worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./node-worker.ts');
