import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { linuxBattery } from './battery.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A fake `/sys/class/power_supply` with the given supplies (name -> files). */
async function supplies(entries: Record<string, Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fedweb-power-'));
  dirs.push(dir);
  for (const [name, files] of Object.entries(entries)) {
    await mkdir(join(dir, name));
    for (const [f, text] of Object.entries(files)) await writeFile(join(dir, name, f), text);
  }
  return dir;
}

describe('linuxBattery', () => {
  it('reads the first battery: capacity in percent, charging when Charging or Full', async () => {
    expect(await linuxBattery(await supplies({ AC: { online: '1\n' }, BAT0: { capacity: '17\n', status: 'Discharging\n' } }))).toEqual({ level: 0.17, charging: false });
    expect(await linuxBattery(await supplies({ BAT1: { capacity: '100\n', status: 'Full\n' } }))).toEqual({ level: 1, charging: true });
    expect(await linuxBattery(await supplies({ BAT0: { capacity: '42', status: 'Charging' } }))).toEqual({ level: 0.42, charging: true });
  });

  it('is undefined without a battery, without the folder, or when the files make no sense', async () => {
    expect(await linuxBattery(await supplies({ AC: { online: '1' } }))).toBeUndefined();
    expect(await linuxBattery(join(tmpdir(), 'fedweb-no-such-power-dir'))).toBeUndefined();
    expect(await linuxBattery(await supplies({ BAT0: { capacity: 'n/a', status: 'Unknown' } }))).toBeUndefined();
    expect(await linuxBattery(await supplies({ BAT0: { status: 'Discharging' } }))).toBeUndefined();
  });
});
