/**
 * A Node FedClient in a process of its own, for measuring its peak RSS against a hostile server (memory-bound
 * test). Run with `node --import tsx rss-child.ts <serverUrl>`; prints one JSON line per event, and on `report`
 * (stdin) prints `{ event: 'report', maxRssBytes }` (`process.resourceUsage().maxRSS`) and exits. Test-only.
 */
import { FedClient } from '../index.js';

const [server] = process.argv.slice(2);
const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const client = new FedClient({
  server: server!,
  id: 'rss-child',
  cache: false,
  backend: 'cpu',
  data: { load: () => ({ x: new Float32Array(784 * 8).fill(0.5), xShape: [784], y: new Int32Array(8).map((_, i) => i % 10), yShape: [] }) },
  backoff: { baseMs: 20, maxMs: 200 },
  logger: { warn: () => {} },
});
client.on('error', (e) => out({ event: 'error', code: e.code, message: e.message.slice(0, 300) }));
client.on('round', (r) => out({ event: 'round', roundId: r.roundId, phase: r.phase, code: r.error?.code }));
client.on('status', (s) => out({ event: 'status', status: s.status }));
process.stdin.on('data', (d) => {
  if (!String(d).includes('report')) return;
  out({ event: 'report', maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  void client.stop().finally(() => process.exit(0));
});
void client.start().catch((e: unknown) => out({ event: 'start-failed', message: String(e) }));
