/**
 * What a client tells the server about itself at `hello` and in heartbeats, so the server's selection policy
 * can prefer charging, visible, well-connected devices. Every probe is optional: browsers differ, and a
 * missing API is simply left out.
 */
import type { Capabilities } from '@fedweb/codec';
import type { BackendReport } from '../trainer/api.js';
import { withTimeout } from './abort.js';

/** The part of an `EventTarget` the device APIs below are used through. */
interface Events {
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

interface NavigatorExtras {
  deviceMemory?: number;
  hardwareConcurrency?: number;
  userAgent?: string;
  getBattery?: () => Promise<{ level: number; charging: boolean } & Events>;
  connection?: { type?: string; effectiveType?: string; saveData?: boolean } & Events;
}

const clip = (s: string | undefined, n: number) => (s === undefined ? undefined : s.slice(0, n));

/**
 * Reads the browser's (or worker's) device capabilities: `navigator.deviceMemory`, `hardwareConcurrency`,
 * battery (`navigator.getBattery`, bounded to 1 s), connection (Network Information API) and page visibility.
 * @example
 * ```ts
 * const caps = await browserCapabilities();
 * // { platform: 'browser', hardwareConcurrency: 8, deviceMemoryGb: 8, visible: true, ... }
 * ```
 */
export async function browserCapabilities(): Promise<Capabilities> {
  const nav = (globalThis as { navigator?: NavigatorExtras }).navigator;
  const caps: Capabilities = { platform: 'browser' };
  if (!nav) return caps;
  if (typeof nav.deviceMemory === 'number' && Number.isFinite(nav.deviceMemory)) caps.deviceMemoryGb = nav.deviceMemory;
  if (typeof nav.hardwareConcurrency === 'number' && Number.isInteger(nav.hardwareConcurrency) && nav.hardwareConcurrency >= 0) {
    caps.hardwareConcurrency = nav.hardwareConcurrency;
  }
  if (typeof nav.userAgent === 'string') caps.userAgent = clip(nav.userAgent, 512);
  if (typeof nav.getBattery === 'function') {
    try {
      const b = await withTimeout(nav.getBattery(), 1000, 'navigator.getBattery()');
      if (Number.isFinite(b.level) && b.level >= 0 && b.level <= 1) caps.battery = { level: b.level, charging: Boolean(b.charging) };
    } catch {
      // Denied by a permissions policy, or slow: report no battery rather than delay the join.
    }
  }
  const c = nav.connection;
  if (c && typeof c === 'object') {
    const conn: NonNullable<Capabilities['connection']> = {};
    if (typeof c.type === 'string') conn.type = clip(c.type, 32);
    if (typeof c.effectiveType === 'string') conn.effectiveType = clip(c.effectiveType, 16);
    if (typeof c.saveData === 'boolean') conn.saveData = c.saveData;
    caps.connection = conn;
  }
  const doc = (globalThis as { document?: { visibilityState?: string } }).document;
  if (doc && typeof doc.visibilityState === 'string') caps.visible = doc.visibilityState === 'visible';
  return caps;
}

/**
 * Adds the backend decision to capabilities, trimmed to the wire schema's limits.
 * @example
 * ```ts
 * withBackend(caps, { chosen: 'wasm', candidates: { webgl: '1000 ex/s', wasm: '3000 ex/s' }, cached: false });
 * ```
 */
export function withBackend(caps: Capabilities, report: BackendReport | undefined): Capabilities {
  if (!report) return caps;
  const backendReport: Record<string, string> = {};
  for (const [k, v] of Object.entries(report.candidates)) if (typeof v === 'string') backendReport[k.slice(0, 32)] = v.slice(0, 200);
  return { ...caps, backend: report.chosen, backendReport };
}

/**
 * Subscribes to page visibility changes (no-op outside a document). Returns the unsubscribe function.
 * @example
 * ```ts
 * const off = onVisibilityChange(() => sendHeartbeatNow());
 * ```
 */
export function onVisibilityChange(cb: () => void): () => void {
  const doc = (globalThis as { document?: { addEventListener?: Document['addEventListener']; removeEventListener?: Document['removeEventListener'] } })
    .document;
  if (!doc?.addEventListener || !doc.removeEventListener) return () => {};
  const h = () => cb();
  doc.addEventListener('visibilitychange', h);
  return () => doc.removeEventListener!('visibilitychange', h);
}

/** Listens to `types` on `target` (if it is an event target); returns the unsubscribe function. */
function listen(target: Events | undefined, types: string[], cb: () => void): () => void {
  if (typeof target?.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') return () => {};
  const h = () => cb();
  for (const t of types) target.addEventListener(t, h);
  return () => {
    for (const t of types) target.removeEventListener!(t, h);
  };
}

/**
 * Subscribes to every change of what {@link browserCapabilities} reports that a session's conditions look at:
 * battery (`levelchange`, `chargingchange` on `navigator.getBattery()`'s manager), connection (`change` on the
 * Network Information API's `navigator.connection`) and page visibility. Missing APIs are skipped. Returns the
 * unsubscribe function.
 * @example
 * ```ts
 * const off = onDeviceChange(() => sendHeartbeatNow());
 * ```
 */
export function onDeviceChange(cb: () => void): () => void {
  const nav = (globalThis as { navigator?: NavigatorExtras }).navigator;
  const offs = [onVisibilityChange(cb), listen(nav?.connection, ['change'], cb)];
  let closed = false;
  if (typeof nav?.getBattery === 'function') {
    Promise.resolve()
      .then(() => nav.getBattery!())
      .then(
      (battery) => {
        if (!closed) offs.push(listen(battery, ['levelchange', 'chargingchange'], cb));
      },
      () => {
        // Denied by a permissions policy: no battery events.
      },
    );
  }
  return () => {
    closed = true;
    for (const off of offs.splice(0)) off();
  };
}
