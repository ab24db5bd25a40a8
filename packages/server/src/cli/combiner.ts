/**
 * `fedweb combiner`: an extra combiner process that registers with a controller and serves its own clients.
 */
import { resolve } from 'node:path';
import { fedError } from '@fedweb/codec';
import { startCombiner } from '../combiner/process.js';
import type { LogLevel } from '../log.js';
import { num, parse } from './args.js';
import { LIMIT_HELP, LIMIT_OPTIONS, limitFlags } from './limits.js';
import type { Out } from './output.js';
import { onSignals } from './signals.js';

/** The help text of `fedweb combiner`. */
export const COMBINER_HELP = `usage: fedweb combiner --controller <url> --name <id> [options]

  --controller <url>      the controller's HTTP base, e.g. http://127.0.0.1:8080 (required)
  --name <id>             this combiner's id (required)
  --port <n>              port for client WebSockets (default 0 = any free port)
  --host <addr>           listen address (default 127.0.0.1)
  --public-url <ws-url>   URL clients should dial when it differs (NAT, reverse proxy)
  --token <jwt>           a combiner token (fedweb token --role combiner --sub <name>)
  --public-key <file>     JWKS or Ed25519 PEM verifying client tokens (default: <controller>/.well-known/jwks.json)
  --secret <s>            the controller's secret (or FEDWEB_SECRET) instead of --token (then it can mint tokens)
  --insecure-no-client-auth  accept clients without verifying their tokens (dev only)
  --allow-tokens-without-exp  accept client tokens that never expire (default: refused)
  --heartbeat-ms <n>      client heartbeat interval (default 5000)
  --reconnect-grace-ms <n> how long a selected client that drops mid-round keeps its slot (default 15000)
  --link-keepalive-ms <n> ping interval of the controller link; an unanswered ping redials it (default 10000)
${LIMIT_HELP}
  --log-level <level>     (default info)`;

/**
 * Runs `fedweb combiner` (until a signal); returns once it listens.
 * @example
 * ```ts
 * await cmdCombiner(['--controller', url, '--name', 'c2', '--token', token], STDOUT);
 * ```
 */
export async function cmdCombiner(args: string[], out: Out): Promise<number> {
  const { values } = parse(args, {
    controller: { type: 'string' },
    name: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'public-url': { type: 'string' },
    secret: { type: 'string' },
    token: { type: 'string' },
    'public-key': { type: 'string' },
    'insecure-no-client-auth': { type: 'boolean' },
    'allow-tokens-without-exp': { type: 'boolean' },
    'heartbeat-ms': { type: 'string' },
    'reconnect-grace-ms': { type: 'string' },
    'link-keepalive-ms': { type: 'string' },
    ...LIMIT_OPTIONS,
    'log-level': { type: 'string' },
  });
  if (values.help) return out.line(COMBINER_HELP), 0;
  if (!values.controller || !values.name) throw fedError('BAD_CONFIG', '--controller and --name are required (see fedweb combiner --help)');
  const secret = values.secret ?? process.env.FEDWEB_SECRET;
  const flags = limitFlags(values, num);
  const c = await startCombiner({
    controllerUrl: values.controller,
    name: values.name,
    port: num(values.port, 'port') ?? 0,
    host: values.host ?? '127.0.0.1',
    ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
    ...(secret ? { secret } : {}),
    ...(values.token ? { token: values.token } : {}),
    ...(values['public-key'] ? { publicKeyFile: resolve(values['public-key']) } : {}),
    ...(values['insecure-no-client-auth'] ? { insecureNoClientAuth: true } : {}),
    ...(values['allow-tokens-without-exp'] ? { allowTokensWithoutExp: true } : {}),
    ...(values['heartbeat-ms'] ? { heartbeatMs: num(values['heartbeat-ms'], 'heartbeat-ms') as number } : {}),
    limits: { ...flags.combiner, ...(values['reconnect-grace-ms'] ? { reconnectGraceMs: num(values['reconnect-grace-ms'], 'reconnect-grace-ms') as number } : {}) },
    connections: flags.connections,
    ...(flags.metrics ? { metrics: flags.metrics } : {}),
    ...(values['link-keepalive-ms'] ? { linkKeepaliveMs: num(values['link-keepalive-ms'], 'link-keepalive-ms') as number } : {}),
    logLevel: (values['log-level'] ?? 'info') as LogLevel,
  });
  out.line(`fedweb combiner ${c.id} listening on ${c.url}`);
  onSignals(() => c.close());
  return 0;
}
