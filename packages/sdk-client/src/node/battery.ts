/**
 * The battery of a Linux device running a Node client (a laptop, a tablet, a handheld kiosk), read from the kernel's
 * power-supply class (`/sys/class/power_supply/BAT*`: `capacity` in percent, `status`), so the session's battery
 * conditions select and withdraw Node clients as they do browsers. Absent on other systems and on mains-powered
 * devices: a device without a battery meets every battery condition.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Capabilities } from '@fedweb/codec';

/** Where Linux lists power supplies. */
export const POWER_SUPPLY_DIR = '/sys/class/power_supply';

/**
 * The first battery under `dir` (`BAT0`, `BAT1`, ...): level 0..1 and whether it charges (`Charging` or `Full`, i.e.
 * on mains). Undefined when there is none or it cannot be read.
 * @example
 * ```ts
 * await linuxBattery(); // { level: 0.83, charging: false } on a laptop running on battery
 * ```
 */
export async function linuxBattery(dir = POWER_SUPPLY_DIR): Promise<Capabilities['battery']> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^BAT\d*$/.test(n)).sort();
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      const [capacity, status] = await Promise.all([readFile(join(dir, name, 'capacity'), 'utf8'), readFile(join(dir, name, 'status'), 'utf8')]);
      const percent = Number(capacity.trim());
      if (!Number.isFinite(percent)) continue;
      const state = status.trim();
      return { level: Math.min(1, Math.max(0, percent / 100)), charging: state === 'Charging' || state === 'Full' };
    } catch {
      // Unreadable (permissions, a removed battery): try the next one.
    }
  }
  return undefined;
}
