/**
 * Headless Chromium for simulations and tests: Debian's /usr/bin/chromium driven by playwright-core, with
 * the flags every fedweb browser test uses (one list, in `packages/sdk-client/test/browser.ts`) and a fresh
 * profile directory removed on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../packages/sdk-client/test/browser.js';

export { CHROMIUM_ARGS, CHROMIUM_PATH };
/**
 * Keep background tabs running at full speed: a simulation opens many tabs and only one can be "visible".
 * (Headless pages are not throttled today; these make it explicit and also hold in headful mode.)
 */
export const NO_THROTTLE_ARGS = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh persistent profile (IndexedDB survives page reloads within the run).
 * @example
 * ```ts
 * const b = await launchChromium();
 * const page = await b.context.newPage();
 * await b.close();
 * ```
 */
export async function launchChromium(opts: { headful?: boolean; extraArgs?: string[] } = {}): Promise<LaunchedBrowser> {
  const dir = mkdtempSync(join(tmpdir(), 'fedweb-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: !opts.headful,
    args: [...CHROMIUM_ARGS, ...NO_THROTTLE_ARGS, ...(opts.extraArgs ?? [])],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type { Browser, BrowserContext };
