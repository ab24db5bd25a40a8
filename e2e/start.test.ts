/**
 * `npm start` comes up and answers: spawns scripts/start.ts (as `npm start` does) on a free port with a
 * temporary data dir, fetches the page, /api/status and a simulation shard, then stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@fedweb/server/client';
import { freePort } from './lib/net.js';
import { ROOT } from './lib/prepare.js';

describe('npm start', () => {
  let child: ChildProcess;
  let base: string;
  let output = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'fedweb-start-'));

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', FEDWEB_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up in 240 s:\n${output}`)), 240_000);
      const check = () => {
        if (output.includes('dashboard:')) {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          resolve();
        }
      };
      child.stdout?.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URL and the simulation-mode warning, and no TensorFlow.js banner', () => {
    expect(output).toContain(`${base}/`);
    expect(output).toContain('SIMULATION MODE');
    expect(output).not.toMatch(/TensorFlow\.js in Node\.js|EBADENGINE/);
  });

  it('tells the page the centralized reference for its data (2 shards of 3,500 digits: all 7,000 training digits in play)', async () => {
    const info = await new ApiClient({ baseUrl: base }).request<{ numShards: number; reference: { accuracy: number; note: string } | null }>('/api/sim/info');
    expect(info.numShards).toBe(2);
    expect(info.reference?.accuracy).toBeGreaterThan(0.9);
    expect(info.reference?.note).toMatch(/same 7,000 digits/);
  });

  it('serves the demo page with COOP/COEP headers', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const html = await res.text();
    expect(html).toContain('federated learning in your browser');
    expect(html).toMatch(/<script type="module"[^>]+src="\.\/assets\/index-[^"]+\.js"/);
  });

  it('answers /api/status with a running session on the MNIST CNN package', async () => {
    const status = await new ApiClient({ baseUrl: base }).status();
    expect(status.package?.name).toBe('mnist-cnn');
    expect(status.activeSession?.status).toBe('running');
    expect(status.activeSession?.rounds).toBe(20);
    expect(status.combiners).toBe(1);
  });

  it('serves simulation shards, flagged as such', async () => {
    // A raw fetch on purpose: the header itself is what is checked.
    const res = await fetch(`${base}/api/sim/shard?client=start-test`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fedweb-simulation')).toBe('true');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(800 * 784 * 4);
  });
});
