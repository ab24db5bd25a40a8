// The entry of a fold-pool worker_thread. The server runs TypeScript sources, so the thread registers tsx's
// loader (as the fedweb CLI does) before importing the worker (worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
