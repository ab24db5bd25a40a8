import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../api-client/index.js';
import { issueToken } from '../auth.js';
import { serverFixture } from '../../test/fixture.js';
import { tempDir, until } from '../testing/harness.js';
import { makeTestPackage, writePackageDir } from '../testing/package.js';
import { main, REST_COMMANDS } from './main.js';

const SECRET = 'a-test-secret-of-enough-length';
const SEED = [{ name: 'w0', shape: [3], data: new Float32Array([1, 2, 3]) }];
const f = serverFixture(SEED);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Runs the CLI in-process, capturing what it prints (and what it draws on a fake terminal). */
async function cli(args: string[], tty = false): Promise<{ code: number; out: string; drawn: string }> {
  const lines: string[] = [];
  let drawn = '';
  const code = await main(args, { line: (t) => void lines.push(t), progress: { isTTY: tty, write: (s: string) => ((drawn += s), true) } });
  return { code, out: lines.join('\n'), drawn };
}

describe('fedweb CLI against a real server', () => {
  it('covers the REST operations: tables by default, --json on reads, exact bytes on download, audited actions', async () => {
    const server = await f.setup({ secret: SECRET, seed: null });
    const admin = await issueToken({ secret: SECRET, role: 'admin', sub: 'root' });
    const ops = await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' });
    const as = (token: string) => ['--url', server.url, '--token', token];
    const tmp = await tempDir();
    f.defer(tmp.cleanup);
    const pkgDir = join(tmp.dir, 'pkg');
    await writePackageDir(pkgDir, await makeTestPackage({ tensors: SEED }));

    // Upload with a progress bar on a (fake) terminal; none when not a terminal.
    const up = await cli(['package', 'upload', pkgDir, ...as(ops)], true);
    expect(up.out.split('\n')[0]).toMatch(/^SHA256\s+NAME\s+VERSION\s+ACTIVE\s+BYTES/);
    expect(up.drawn).toMatch(/upload .*100%/);
    const active = JSON.parse((await cli(['package', 'active', '--json', ...as(ops)])).out) as { package: { sha256: string; seedModel: { id: string } } };
    expect((await cli(['package', 'manifest', active.package.sha256, ...as(ops)])).out).toContain('"name": "test"');

    expect((await cli(['session', 'start', '--id', 'c1', '--rounds', '2', '--clients-required', '3', '--strategy', 'fedavg', ...as(ops)])).out).toMatch(/^ID\s+STATUS\s+ROUNDS.*\nc1\s+running\s+0\/2/);
    const list = JSON.parse((await cli(['session', 'list', '--json', ...as(ops)])).out) as { sessions: Array<{ id: string; config: { clientsRequired: number } }> };
    expect(list.sessions.map((s) => [s.id, s.config.clientsRequired])).toEqual([['c1', 3]]);
    expect((await cli(['session', 'pause', 'c1', ...as(ops)])).out).toMatch(/c1\s+paused/);
    expect((await cli(['session', 'resume', 'c1', '--json', ...as(ops)])).out).toContain('"status": "running"');
    expect((await cli(['session', 'status', 'c1', ...as(ops)])).out).toMatch(/live round: /);
    expect((await cli(['rounds', 'list', 'c1', '--json', ...as(ops)])).out).toContain('"rounds"');
    expect((await cli(['models', 'rollback', active.package.seedModel.id, '--session', 'c1', ...as(ops)])).out).toBe(
      `session c1 rolled back from ${active.package.seedModel.id} to ${active.package.seedModel.id}: round 1 trains it`,
    );
    expect((await cli(['session', 'stop', 'c1', ...as(ops)])).out).toMatch(/c1\s+stopped/);
    // The live stream: its first event says who is watching; contributions answer per id.
    const hello = JSON.parse((await cli(['events', '--count', '1', '--json', ...as(ops)])).out) as { event: string; data: { role: string; canOperate: boolean } };
    expect(hello).toMatchObject({ event: 'hello', data: { role: 'operator', canOperate: true } });
    expect(JSON.parse((await cli(['clients', 'contributions', 'k1', 'k2', '--json', ...as(ops)])).out)).toEqual({ contributions: { k1: 0, k2: 0 } });

    // The seed model, downloaded: the exact bytes served, hashing to the trail's sha256.
    const models = JSON.parse((await cli(['models', 'list', '--json', ...as(ops)])).out) as { models: Array<{ id: string; sha256: string }> };
    const file = join(tmp.dir, 'seed.fwf');
    const dl = await cli(['models', 'download', active.package.seedModel.id, '-o', file, ...as(ops)], true);
    expect(dl.out).toMatch(/written to .*seed\.fwf$/);
    expect(dl.drawn).toContain('100%');
    const bytes = new Uint8Array(await readFile(file));
    expect(sha(bytes)).toBe(models.models.find((m) => m.id === active.package.seedModel.id)?.sha256);
    expect(bytes).toEqual(await new ApiClient({ baseUrl: server.url, token: ops }).downloadModel(active.package.seedModel.id));
    const bundle = join(tmp.dir, 'bundle.mjs');
    await cli(['package', 'download', active.package.sha256, '-o', bundle, ...as(ops)]);
    expect(sha(new Uint8Array(await readFile(bundle)))).toBe(active.package.sha256);

    expect((await cli(['status', ...as(ops)])).out).toMatch(/auth\s+on/);
    expect(JSON.parse((await cli(['combiners', 'list', '--json', ...as(ops)])).out).combiners[0].combinerId).toBe('embedded');
    expect((await cli(['clients', 'list', ...as(ops)])).out).toMatch(/^\(none\)\n0 online$/);
    expect((await cli(['clients', 'discover', 'kiosk-1', ...as(admin)])).out).toMatch(/^kiosk-1 -> combiner embedded at ws:/);
    const token = (await cli(['tokens', 'issue', '--role', 'viewer', '--sub', 'eyes', '--ttl', '1h', ...as(admin)])).out;
    expect(await new ApiClient({ baseUrl: server.url, token }).listSessions()).toHaveLength(1);
    expect(JSON.parse((await cli(['tokens', 'jwks', '--json', ...as(ops)])).out).keys).toHaveLength(1);

    const audit = JSON.parse((await cli(['audit', '--json', ...as(admin)])).out) as { entries: Array<{ action: string; actor: string }> };
    expect(audit.entries.map((e) => `${e.action}:${e.actor}`)).toEqual([
      'token.issue:root',
      'session.stop:ops',
      'session.rollback:ops',
      'session.resume:ops',
      'session.pause:ops',
      'session.start:ops',
      'package.activate:ops',
      'package.upload:ops',
    ]);
    const table = (await cli(['audit', '--action', 'session.start', ...as(admin)])).out.split('\n');
    expect(table[0]).toMatch(/^\s*ID\s+WHEN\s+ACTOR\s+ACTION\s+TARGET\s+DETAIL$/);
    expect(table[1]).toMatch(/ops \(operator\)\s+session\.start\s+c1/);
    await expect(cli(['audit', ...as(ops)])).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('session start --wait exits 0 when the session completes and 1 when it does not', async () => {
    const server = await f.setup();
    const url = ['--url', server.url, '--wait-every-ms', '50'];
    await f.connect(server, { clientId: 'k1' });
    const ok = await cli(['session', 'start', '--id', 'w-ok', '--rounds', '1', '--wait', ...url]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/round 1 committed: 1 update\(s\)[\s\S]*session w-ok completed$/);

    // Waits for 2 clients that never come; stopped meanwhile: not a completed session, exit code 1.
    const api = new ApiClient({ baseUrl: server.url });
    const waiting = cli(['session', 'start', '--id', 'w-stop', '--rounds', '1', '--clients-required', '2', '--wait', ...url]);
    await until(async () => (await api.listSessions()).find((s) => s.id === 'w-stop'), 10_000, 'session w-stop');
    await api.stopSession('w-stop');
    const stopped = await waiting;
    expect(stopped.code).toBe(1);
    expect(stopped.out).toMatch(/session w-stop stopped$/);
  });
});

describe('fedweb CLI surface', () => {
  it('has a command for every REST route the server registers', async () => {
    const server = await f.setup();
    const routes = new Set<string>();
    const stack: string[] = [];
    for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+) \(([^)]+)\)$/.exec(line);
      if (!m) continue;
      const depth = m[1]!.length / 4;
      stack[depth] = m[2]!;
      const path = stack.slice(0, depth + 1).join('');
      if (!path.startsWith('/api/') && !path.startsWith('/.well-known/')) continue;
      for (const method of m[3]!.split(', ')) if (method !== 'HEAD' && method !== 'OPTIONS') routes.add(`${method} ${path}`);
    }
    expect([...routes].sort()).toEqual(Object.keys(REST_COMMANDS).sort());
  });

  it('answers --help for every command, and the top-level help names every command group', async () => {
    const top = (await cli(['--help'])).out;
    for (const group of ['server', 'combiner', 'token', 'status', 'session', 'rounds', 'models', 'package', 'clients', 'combiners', 'tokens', 'audit', 'events']) {
      expect(top).toMatch(new RegExp(`^  ${group} `, 'm'));
      const help = await cli([group, '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toMatch(/^usage: fedweb /);
    }
    await expect(cli(['nope'])).rejects.toThrow(/unknown command 'nope'/);
    await expect(cli(['models', 'nope'])).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });
});
