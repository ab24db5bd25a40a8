import { afterEach, describe, expect, it, vi } from 'vitest';
import { browserCapabilities, onDeviceChange, onVisibilityChange, withBackend } from './capabilities.js';

afterEach(() => vi.unstubAllGlobals());

describe('browserCapabilities', () => {
  it('reads memory, cores, battery, connection and visibility where the browser has them', async () => {
    vi.stubGlobal('navigator', {
      deviceMemory: 8,
      hardwareConcurrency: 4,
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/140',
      getBattery: async () => ({ level: 0.42, charging: false }),
      connection: { type: 'wifi', effectiveType: '4g', saveData: false },
    });
    vi.stubGlobal('document', { visibilityState: 'hidden' });
    expect(await browserCapabilities()).toEqual({
      platform: 'browser',
      deviceMemoryGb: 8,
      hardwareConcurrency: 4,
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/140',
      battery: { level: 0.42, charging: false },
      connection: { type: 'wifi', effectiveType: '4g', saveData: false },
      visible: false,
    });
  });

  it('leaves out what is missing or refused (Firefox/Safari: no deviceMemory, battery or connection)', async () => {
    vi.stubGlobal('navigator', {
      hardwareConcurrency: 2,
      getBattery: () => Promise.reject(new DOMException('denied by permissions policy', 'NotAllowedError')),
    });
    vi.stubGlobal('document', { visibilityState: 'visible' });
    expect(await browserCapabilities()).toEqual({ platform: 'browser', hardwareConcurrency: 2, visible: true });
  });

  it('works where there is no navigator or document at all', async () => {
    vi.stubGlobal('navigator', undefined);
    expect(await browserCapabilities()).toEqual({ platform: 'browser' });
  });
});

describe('withBackend / onVisibilityChange', () => {
  it('adds the backend decision within the wire limits', () => {
    const caps = withBackend({ platform: 'browser' }, { chosen: 'webgl', candidates: { webgl: '95 ex/s', wasm: 'x'.repeat(300) }, cached: true });
    expect(caps.backend).toBe('webgl');
    expect(caps.backendReport?.['webgl']).toBe('95 ex/s');
    expect(caps.backendReport?.['wasm']).toHaveLength(200);
  });

  it('subscribes to visibilitychange and unsubscribes', () => {
    const target = new EventTarget();
    vi.stubGlobal('document', { addEventListener: target.addEventListener.bind(target), removeEventListener: target.removeEventListener.bind(target) });
    let n = 0;
    const off = onVisibilityChange(() => n++);
    target.dispatchEvent(new Event('visibilitychange'));
    off();
    target.dispatchEvent(new Event('visibilitychange'));
    expect(n).toBe(1);
  });

  it('onDeviceChange hears battery level and charging, connection and visibility changes, and unsubscribes from all', async () => {
    const doc = new EventTarget();
    const battery = new EventTarget();
    const connection = new EventTarget();
    let resolveBattery!: (b: EventTarget) => void;
    const gotBattery = new Promise<EventTarget>((r) => (resolveBattery = r));
    vi.stubGlobal('document', { addEventListener: doc.addEventListener.bind(doc), removeEventListener: doc.removeEventListener.bind(doc) });
    vi.stubGlobal('navigator', { getBattery: () => gotBattery, connection });
    let n = 0;
    const off = onDeviceChange(() => n++);
    resolveBattery(battery);
    await gotBattery;
    await new Promise((r) => setTimeout(r, 0));
    for (const [t, type] of [[battery, 'levelchange'], [battery, 'chargingchange'], [connection, 'change'], [doc, 'visibilitychange']] as const) t.dispatchEvent(new Event(type));
    expect(n).toBe(4);
    off();
    for (const [t, type] of [[battery, 'levelchange'], [connection, 'change'], [doc, 'visibilitychange']] as const) t.dispatchEvent(new Event(type));
    expect(n).toBe(4);
  });
});
