/**
 * The optional static site (`--static <dir>`): served at `/` without ever leaking server state. Dotfiles and
 * dot-folders (`.fedweb`, `.git`, `.env`) are never served, a data dir inside the static root (or a root inside the
 * data dir) is refused at start, and a path that tries to leave the root (`../`, `%2e%2e`, `%2f`, `\`, NUL) is a
 * 404 before it reaches the file system.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { fedError } from '@fedweb/codec';

/** True when `inner` is `outer` or lies below it (both absolute, resolved). */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * True when a request path may be looked up under the root: every segment, decoded (twice, for double encoding),
 * is a plain name: not empty-dot, not starting with `.`, without `/`, `\` or NUL.
 * @example
 * ```ts
 * isSafeStaticPath('/assets/app.js') // true
 * isSafeStaticPath('/%2e%2e/etc/passwd') // false
 * ```
 */
export function isSafeStaticPath(pathname: string): boolean {
  let p = pathname;
  for (let i = 0; i < 2; i++) {
    try {
      p = decodeURIComponent(p);
    } catch {
      return false;
    }
  }
  if (p.includes('\0') || p.includes('\\')) return false;
  return p.split('/').every((seg) => !seg.startsWith('.'));
}

/**
 * The static root, real path resolved, after checking it does not overlap the data dir (call it before opening
 * the stores, so a refused start leaves nothing open).
 * @throws FedError BAD_CONFIG when the root is missing, or `dataDir` is inside `root` or `root` inside `dataDir`.
 * @example
 * ```ts
 * const root = await checkStaticRoot('./dist/demo', './.fedweb');
 * ```
 */
export async function checkStaticRoot(staticDir: string, dataDir: string): Promise<string> {
  const root = await realpath(resolve(staticDir)).catch(() => {
    throw fedError('BAD_CONFIG', `the static root ${staticDir} does not exist`);
  });
  const data = await realpath(resolve(dataDir));
  if (within(data, root) || within(root, data)) {
    throw fedError(
      'BAD_CONFIG',
      `the data dir ${data} and the static root ${root} overlap: the server's state (state.db, models) would be served; move the data dir (--data-dir) out of the static folder`,
    );
  }
  return root;
}

/**
 * Serves `root` (checked by {@link checkStaticRoot}) at `/` with `headers` on every file.
 * @example
 * ```ts
 * await registerStaticSite(app, { root: await checkStaticRoot(dir, dataDir), headers: COOP_COEP });
 * ```
 */
export async function registerStaticSite(app: FastifyInstance, opts: { root: string; headers: Record<string, string> }): Promise<void> {
  await app.register(fastifyStatic, {
    root: opts.root,
    prefix: '/',
    wildcard: true,
    dotfiles: 'ignore',
    allowedPath: (pathname) => isSafeStaticPath(pathname),
    setHeaders: (res) => {
      for (const [k, v] of Object.entries(opts.headers)) res.setHeader(k, v);
    },
  });
}
