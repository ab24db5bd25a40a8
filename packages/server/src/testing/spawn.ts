/**
 * Spawns the `fedweb` CLI as a child process (for kill -9 tests and benchmarks) and waits for a line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of `bin/fedweb.mjs`.
 * @example
 * ```ts
 * spawn(process.execPath, [FEDWEB_BIN, 'server', '--port', '0']);
 * ```
 */
export const FEDWEB_BIN = fileURLToPath(new URL('../../bin/fedweb.mjs', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** Everything printed so far (stdout + stderr, last 200 kB). */
  output(): string;
  /** Resolves with the first match of `re` in the output (waiting for it). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL, resolved when the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs `node bin/fedweb.mjs ...args`; with `prefix`, through that command (e.g. `['ip', 'netns', 'exec', ns]`,
 * which execs node in place, so the child is still the fedweb process).
 * @example
 * ```ts
 * const p = spawnCli(['server', '--port', '0', '--data-dir', dir]);
 * const [, url] = await p.waitFor(/listening on (http:\/\/[^\s"]+)/);
 * // under a prefix command, e.g. a lowered file-descriptor limit:
 * spawnCli(['server', '--port', '0'], {}, { prefix: ['prlimit', '--nofile=256:256'] });
 * ```
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, opts: { prefix?: string[] } = {}): CliProcess {
  return spawnNode([FEDWEB_BIN, ...args], `fedweb ${args[0] ?? ''}`, env, 'ignore', opts.prefix);
}

/**
 * Runs a TypeScript file of this package in a child Node (through tsx), with a stdin the test can write to
 * (`child.stdin`).
 * @example
 * ```ts
 * const p = spawnScript(fileURLToPath(new URL('./commit-child.ts', import.meta.url)), [stateUrl, dir, '10']);
 * ```
 */
export function spawnScript(file: string, args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnNode(['--import', 'tsx', file, ...args], file.split('/').pop() ?? file, env, 'pipe');
}

function spawnNode(argv: string[], label: string, env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe' = 'ignore', prefix: string[] = []): CliProcess {
  const [cmd, ...rest] = [...prefix, process.execPath, ...argv] as [string, ...string[]];
  const child = spawn(cmd, rest, { env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 200_000) out = out.slice(-200_000);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = out.match(re);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const onExit = (): void => {
          cleanup();
          reject(new Error(`${label} exited before printing ${re}:\n${out.slice(-4000)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label} did not print ${re} within ${timeoutMs} ms:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
