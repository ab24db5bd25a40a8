/**
 * `fedweb token` (signs a token offline with the secret or key file, on the controller's host) and
 * `fedweb tokens <issue|jwks>` (`POST /api/tokens` with an admin token; the controller's public key).
 */
import { resolve } from 'node:path';
import { fedError } from '@fedweb/codec';
import { DEFAULT_TOKEN_TTL, issueToken, parseTokenTtl, ROLES, type Role } from '../auth.js';
import { loadSigningKey } from '../auth-keys.js';
import { JSON_HELP, JSON_OPTION, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Out } from './output.js';

/** The help text of `fedweb token`. */
export const TOKEN_HELP = `usage: fedweb token --role <role> --sub <subject> [options]

  --role <role>           ${ROLES.join(' | ')} (required)
  --sub <subject>         the subject: a client token's clientId, a combiner token's combiner id (required)
  --secret <s>            the server's secret (or FEDWEB_SECRET)
  --token-key <pem>       the server's token key file instead of --secret
  --ttl <duration>        90s, 15m, 12h, 30d, 2w (default admin 1h, operator 12h, viewer 7d, combiner 365d, client 30d)

Prints the token on stdout. Signs offline (not in the audit log); 'fedweb tokens issue' asks the server instead.`;

/** The help text of `fedweb tokens`. */
export const TOKENS_HELP = `usage: fedweb tokens issue --role <role> --sub <subject> [--ttl <duration>] [--json]   (POST /api/tokens, admin; audited)
       fedweb tokens jwks [--json]                                                  (the controller's public key)

issue prints the token on stdout (with --json: { token, role, sub, exp }).

${REMOTE_HELP}
${JSON_HELP}`;

/**
 * Runs `fedweb token`; returns the exit code.
 * @example
 * ```ts
 * await cmdToken(['--role', 'client', '--sub', 'kiosk-17', '--secret', secret], STDOUT);
 * ```
 */
export async function cmdToken(args: string[], out: Out): Promise<number> {
  const { values } = parse(args, { role: { type: 'string' }, sub: { type: 'string' }, secret: { type: 'string' }, 'token-key': { type: 'string' }, ttl: { type: 'string' } });
  if (values.help) return out.line(TOKEN_HELP), 0;
  const secret = values.secret ?? process.env.FEDWEB_SECRET;
  const key = values['token-key'] ? await loadSigningKey(resolve(values['token-key'])) : undefined;
  if (!secret && !key) throw fedError('BAD_CONFIG', '--secret, FEDWEB_SECRET or --token-key is required');
  const role = checkRole(values.role);
  if (!values.sub) throw fedError('BAD_CONFIG', '--sub is required');
  const ttl = values.ttl === undefined ? DEFAULT_TOKEN_TTL[role] : parseTokenTtl(values.ttl, '--ttl');
  out.line(await issueToken({ ...(key ? { key } : { secret: secret as string }), role, sub: values.sub, expiresIn: ttl }));
  return 0;
}

function checkRole(role: string | undefined): Role {
  if (!role || !ROLES.includes(role as Role)) throw fedError('BAD_CONFIG', `--role must be one of ${ROLES.join(', ')}`);
  return role as Role;
}

/**
 * Runs `fedweb tokens ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdTokens(['issue', '--role', 'viewer', '--sub', 'eyes', '--ttl', '7d'], STDOUT);
 * ```
 */
export async function cmdTokens(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(TOKENS_HELP), 0;
  const { values } = parse(rest, { ...REMOTE_OPTIONS, ...JSON_OPTION, role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string' } });
  if (values.help) return out.line(TOKENS_HELP), 0;
  const api = remote(values);
  if (action === 'jwks') {
    const jwks = await api.jwks();
    return show(out, values.json, jwks, () => table(jwks.keys, [{ header: 'KID', value: (k) => k.kid }, { header: 'KTY', value: (k) => k.kty }, { header: 'CRV', value: (k) => k.crv }, { header: 'X', value: (k) => k.x }])), 0;
  }
  if (action !== 'issue') throw fedError('BAD_CONFIG', `unknown tokens action '${action}' (see fedweb tokens --help)`);
  const role = checkRole(values.role);
  if (!values.sub) throw fedError('BAD_CONFIG', '--sub is required');
  const issued = await api.issueToken({ role, sub: values.sub, ...(values.ttl !== undefined ? { ttl: parseTokenTtl(values.ttl, '--ttl') } : {}) });
  if (values.json) return show(out, true, issued, () => ''), 0;
  out.line(issued.token);
  if (out.progress?.isTTY) out.progress.write(`${issued.role} token for ${issued.sub}, expires ${when(issued.exp * 1000)} UTC\n`);
  return 0;
}
