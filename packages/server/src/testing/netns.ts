/**
 * A multi-host lab on one Linux machine, for partition tests: one network namespace per host, each joined to a
 * private bridge by a veth pair and given its own address in a /24 (iproute2, as root). The test runner's own
 * namespace joins the bridge too (the address `.254`), so in-process test clients form one more host.
 * Names are unique per run (`fw<random>`; namespaces `fedweb-<pid>-fw<random>-<host>`), every `ip` call is
 * bounded, and {@link NetLab.close} (also run on process exit) removes everything it created, whatever state
 * the test left it in. A lab whose process was killed before it could clean up (SIGKILL) is removed by the next
 * {@link NetLab.create}: its namespaces name a pid that no longer runs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IP_TIMEOUT_MS = 10_000;

/** One host of the lab. */
export interface NetHost {
  name: string;
  /** The network namespace (`ip netns exec <ns> ...`). */
  ns: string;
  /** The host's IPv4 address on the lab's bridge. */
  address: string;
  /** The veth end in the runner's namespace, on the bridge: set down to cut the host off. */
  hostVeth: string;
}

/** Why the lab cannot run here (not root, no `ip`, no permission to create namespaces), or null when it can. */
export async function netLabUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root (run the suite as root)';
  try {
    await run('ip', ['-V'], { timeout: IP_TIMEOUT_MS });
  } catch {
    return "iproute2's 'ip' command is not installed (apt-get install iproute2)";
  }
  return null;
}

/**
 * The lab. Create with {@link NetLab.create}; always `close()` it (a `finally` or an after-hook).
 * @example
 * ```ts
 * const lab = await NetLab.create(['controller', 'ca', 'cb']);
 * spawnCli(['server', '--host', lab.host('controller').address], {}, { prefix: lab.execPrefix('controller') });
 * await lab.cut('cb'); await lab.restore('cb');
 * await lab.close();
 * ```
 */
export class NetLab {
  /** The runner's address on the bridge (the clients host). */
  readonly runnerAddress: string;
  private readonly hosts = new Map<string, NetHost>();
  private closed = false;
  private readonly onExit = (): void => this.closeSync();

  private constructor(
    readonly tag: string,
    readonly subnet: number,
    readonly bridge: string,
  ) {
    this.runnerAddress = `10.213.${subnet}.254`;
  }

  /** Creates the bridge and one namespace per host name (addresses `.1`, `.2`, ... in host order). */
  static async create(hostNames: string[]): Promise<NetLab> {
    if (hostNames.length > 200) throw new Error('at most 200 hosts');
    await sweepOrphans();
    const tag = `fw${randomBytes(3).toString('hex')}`;
    const lab = new NetLab(tag, await freeSubnet(), `${tag}br`);
    process.once('exit', lab.onExit);
    try {
      await ip(['link', 'add', lab.bridge, 'type', 'bridge']);
      await ip(['addr', 'add', `${lab.runnerAddress}/24`, 'dev', lab.bridge]);
      await ip(['link', 'set', lab.bridge, 'up']);
      for (const [i, name] of hostNames.entries()) {
        const host: NetHost = { name, ns: `fedweb-${process.pid}-${tag}-${name}`, address: `10.213.${lab.subnet}.${i + 1}`, hostVeth: `${tag}h${i}` };
        const peer = `${tag}n${i}`;
        await ip(['netns', 'add', host.ns]);
        lab.hosts.set(name, host);
        await ip(['link', 'add', host.hostVeth, 'type', 'veth', 'peer', 'name', peer]);
        await ip(['link', 'set', peer, 'netns', host.ns]);
        await ip(['link', 'set', host.hostVeth, 'master', lab.bridge]);
        await ip(['link', 'set', host.hostVeth, 'up']);
        await ip(['-n', host.ns, 'link', 'set', 'lo', 'up']);
        await ip(['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', peer]);
        await ip(['-n', host.ns, 'link', 'set', peer, 'up']);
      }
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  /** A host by name (throws when unknown). */
  host(name: string): NetHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host '${name}' in lab ${this.tag}`);
    return h;
  }

  /** The command prefix that runs a program inside a host's namespace. */
  execPrefix(name: string): string[] {
    return ['ip', 'netns', 'exec', this.host(name).ns];
  }

  /** Cuts a host off the network (its link on the bridge goes down; packets are dropped, nothing is closed). */
  async cut(name: string): Promise<void> {
    await ip(['link', 'set', this.host(name).hostVeth, 'down']);
  }

  /** Brings a cut host's link back up. */
  async restore(name: string): Promise<void> {
    await ip(['link', 'set', this.host(name).hostVeth, 'up']);
  }

  /** Removes the namespaces, veth pairs and the bridge (idempotent; errors of single steps are ignored). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    for (const h of this.hosts.values()) {
      await ip(['link', 'del', h.hostVeth]).catch(() => undefined);
      await ip(['netns', 'del', h.ns]).catch(() => undefined);
    }
    await ip(['link', 'del', this.bridge]).catch(() => undefined);
  }

  /** The same, synchronously (the process is exiting). */
  private closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    const sync = (args: string[]): void => {
      try {
        execFileSync('ip', args, { timeout: IP_TIMEOUT_MS, stdio: 'ignore' });
      } catch {
        // best effort while exiting
      }
    };
    for (const h of this.hosts.values()) {
      sync(['link', 'del', h.hostVeth]);
      sync(['netns', 'del', h.ns]);
    }
    sync(['link', 'del', this.bridge]);
  }
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: IP_TIMEOUT_MS });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** Removes the namespaces and bridges of labs whose process is gone (deleting a namespace deletes its veth pairs). */
async function sweepOrphans(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list'], { timeout: IP_TIMEOUT_MS });
  const bridges = new Set<string>();
  for (const m of stdout.matchAll(/^fedweb-(\d+)-(fw[0-9a-f]{6})-\S+/gm)) {
    if (alive(Number(m[1]))) continue;
    await ip(['netns', 'del', m[0]]).catch(() => undefined);
    bridges.add(`${m[2]}br`);
  }
  for (const br of bridges) await ip(['link', 'del', br]).catch(() => undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A 10.213.N.0/24 that no route of this machine uses yet. */
async function freeSubnet(): Promise<number> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'table', 'all'], { timeout: IP_TIMEOUT_MS });
  const used = new Set([...stdout.matchAll(/10\.213\.(\d+)\./g)].map((m) => Number(m[1])));
  const start = randomBytes(1)[0] as number;
  for (let k = 0; k < 256; k++) {
    const n = (start + k) % 254;
    if (!used.has(n)) return n;
  }
  throw new Error('no free 10.213.x.0/24 subnet for the lab');
}
