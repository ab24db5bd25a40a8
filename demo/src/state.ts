/**
 * The page's state as the simulation harness and the e2e tests read it (`window.__fedweb`, a JSON snapshot):
 * one type, written by `main.ts` and read by `e2e/lib/sim-env.ts`.
 */
import type { BackendReport } from '@fedweb/sdk-client';
import type { SessionSummary, TrailPoint } from './api.js';

/**
 * What the page exposes to the simulation harness and tests (read-only snapshot, `window.__fedweb`).
 * @example
 * ```ts
 * const s = await page.evaluate(() => (window as unknown as { __fedweb: DemoState }).__fedweb);
 * ```
 */
export interface DemoState {
  clientId: string;
  status: string;
  backend?: BackendReport;
  shard?: { n: number; shard?: number; labelCounts: number[]; split?: string };
  bytesUp: number;
  f32Bytes: number;
  /** Model bytes downloaded for training (deltas after the first round), and the float32 size of those models. */
  bytesDown: number;
  f32BytesDown: number;
  updatesAcked: number;
  updatesRefused: number;
  roundsSeen: string[];
  lastRoundId?: string;
  progress?: { epoch: number; epochs: number; batch: number; batches: number };
  trail: TrailPoint[];
  clientsOnline: number;
  /** The session as the REST API reports it (its `ended` once it has finished; failed rounds in `trail`). */
  session?: SessionSummary;
  /** The centralized reference accuracy for the simulation's data, when the server knows it (`/api/sim/info`). */
  reference?: number;
  errors: string[];
}

export type { SessionEnd, SessionSummary, TrailPoint } from './api.js';
