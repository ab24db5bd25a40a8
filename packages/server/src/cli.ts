/**
 * The `fedweb` command line (bin/fedweb.mjs runs this file through tsx). Subcommands:
 *   server | start, combiner, token, session (start|list|status|pause|resume|stop), package (build|upload|keygen|sign).
 * Every subcommand has `--help`. The README's "CLI" section documents them.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { toFedError } from '@fedweb/codec';
import { DEFAULT_TOKEN_TTL, issueToken, parseTokenTtl, ROLES, type Role } from './auth.js';
import { loadSigningKey } from './auth-keys.js';
import { LIMIT_HELP, LIMIT_OPTIONS, limitFlags } from './cli-limits.js';
import { startCombiner } from './combiner/process.js';
import type { LogLevel } from './log.js';
import { cmdPackage, PACKAGE_HELP } from './cli-package.js';
import { num, parse } from './cli-args.js';
import { startServer } from './server.js';
import { ApiClient, type StartSessionInput } from './api-client/index.js';
import { followSession } from './session-wait.js';

const HELP: Record<string, string> = {
  main: `fedweb: federated learning for the web and the edge

usage: fedweb <command> [options]

commands:
  server       start the controller, discovery, reducer and an embedded combiner (alias: start)
  combiner     start an extra combiner process that registers with a controller
  token        issue a JWT for a role
  session      start / list / inspect / pause / resume / stop training sessions (REST client)
  package      build, sign (and make a signing key for) or upload a compute package

Run 'fedweb <command> --help' for the options of a command.`,
  server: `usage: fedweb server [options]

  --data-dir <dir>        state (SQLite) and blobs (default ./.fedweb)
  --state <url>           state store: a SQLite file (default <data-dir>/state.db) or
                          postgres://user@host:5432/db[?schema=name] (or FEDWEB_STATE; password: PGPASSWORD)
  --blobs <url>           blob store: a folder (default <data-dir>/blobs) or s3://<bucket>/<prefix> (or FEDWEB_BLOBS;
                          credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile/role)
  --s3-endpoint <url>     an S3-compatible server (MinIO, R2, Ceph RGW; or AWS_ENDPOINT_URL)
  --s3-region <r>         (or AWS_REGION; default us-east-1)
  --s3-path-style         path-style bucket URLs (default on when an endpoint is given)
  --port <n>              HTTP port (default 8080; 0 = any free port)
  --host <addr>           listen address (default 127.0.0.1)
  --secret <s>            auth secret (>= 16 chars; or FEDWEB_SECRET). Without it (or --token-key) auth is OFF.
  --token-key <pem>       an Ed25519 private key (PKCS#8 PEM) signing tokens instead of one derived from --secret
  --allow-tokens-without-exp  accept tokens that never expire (default: refused)
                          Without auth anyone who reaches the port can push code to every client, so a
                          non-loopback --host is refused unless --insecure is given too
  --insecure              allow auth off on a non-loopback --host (development on a trusted LAN only)
  --package <dir>         upload and activate this compute package folder at start
  --static <dir>          serve this folder at / (COOP/COEP headers on every response; without it / is a
                          landing page: what this server is, links, how clients connect)
  --heartbeat-ms <n>      client heartbeat interval (default 5000; offline after 3x silence)
  --reconnect-grace-ms <n> how long a selected client that drops mid-round keeps its slot (default 15000)
  --link-keepalive-ms <n> ping interval of combiner links; an unanswered ping drops the combiner (default 10000)
${LIMIT_HELP}
  --no-embedded-combiner  run no combiner in this process (external combiners only)
  --log-level <level>     fatal|error|warn|info|debug (default info)

On SIGKILL nothing committed is lost: restart on the same --data-dir and running sessions resume from their
last committed model. Prints 'fedweb server listening on <url>' when ready.
With --state postgres://..., a second 'fedweb server' on the same database and schema is a standby: it prints
'fedweb server standby', answers only /healthz (200; the rest 503) if it can bind --port, and takes over
(serves --port, resumes the sessions) when the leader's lease ends; a leader that loses its lease exits with 1.`,
  combiner: `usage: fedweb combiner --controller <url> --name <id> [options]

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
  --log-level <level>     (default info)`,
  token: `usage: fedweb token --role <role> --sub <subject> [options]

  --role <role>           admin | operator | viewer | combiner | client (required)
  --sub <subject>         the subject: a client token's clientId, a combiner token's combiner id (required)
  --secret <s>            the server's secret (or FEDWEB_SECRET)
  --token-key <pem>       the server's token key file instead of --secret
  --ttl <duration>        90s, 15m, 12h, 30d, 2w (default admin 1h, operator 12h, viewer 7d, combiner 365d, client 30d)

Prints the token on stdout.`,
  session: `usage: fedweb session <start|list|status|pause|resume|stop> [id] [options]

common:
  --url <http-url>        the controller (default http://127.0.0.1:8080, or FEDWEB_URL)
  --token <jwt>           an operator/admin token (or FEDWEB_TOKEN)

session start options (every field of the session config; see the README):
  --config <file.json>    read the config from a JSON file (flags override it)
  --id <id>               session id (default generated)
  --name <text>
  --rounds <n>            (default 5)
  --clients-required <n>  eligible clients a combiner needs to take part (default 1)
  --min-clients <n>       updates a partial needs to count for validity (default 1)
  --clients-per-round <n> sample this many clients per round (default all eligible)
  --round-timeout-ms <n>  (default 60000)
  --validate-timeout-ms <n> (default 30000)
  --local-epochs <n>      (default 1)
  --batch-size <n>        (default 32)
  --learning-rate <x>     (default 0.01)
  --encoding <e>          f32 | int8 | int4 | topk (default int8)
  --topk-fraction <x>
  --rounding <r>          nearest | stochastic (int8/int4; default nearest)
  --strategy <name>       (default fedavg)
  --strategy-options <json>
  --validate              send validation tasks after each round
  --seed <n>              (default 0)
  --min-battery <x>       selection: skip clients below this battery level (0..1) unless charging
  --require-charging      selection: only clients that charge (or report no battery)
  --exclude-connection <t> selection: skip this connection type (repeatable, e.g. cellular)
  --max-update-norm <x>   refuse updates with a larger L2 norm
  --wait                  wait until the session ends, printing what it waits for and each round`,
  package: PACKAGE_HELP,
};

async function cmdServer(args: string[]): Promise<void> {
  const { values } = parse(args, {
    'data-dir': { type: 'string' },
    state: { type: 'string' },
    blobs: { type: 'string' },
    's3-endpoint': { type: 'string' },
    's3-region': { type: 'string' },
    's3-path-style': { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    secret: { type: 'string' },
    'token-key': { type: 'string' },
    'allow-tokens-without-exp': { type: 'boolean' },
    insecure: { type: 'boolean' },
    package: { type: 'string' },
    static: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'reconnect-grace-ms': { type: 'string' },
    'link-keepalive-ms': { type: 'string' },
    ...LIMIT_OPTIONS,
    'embedded-combiner': { type: 'boolean', default: true },
    'log-level': { type: 'string' },
  });
  if (values.help) return void console.log(HELP.server);
  const secret = values.secret ?? process.env.FEDWEB_SECRET;
  const flags = limitFlags(values, num);
  const stateUrl = values.state ?? process.env.FEDWEB_STATE;
  const blobsUrl = values.blobs ?? process.env.FEDWEB_BLOBS;
  const s3 = {
    ...(values['s3-endpoint'] ? { endpoint: values['s3-endpoint'] } : {}),
    ...(values['s3-region'] ? { region: values['s3-region'] } : {}),
    ...(values['s3-path-style'] !== undefined ? { forcePathStyle: values['s3-path-style'] } : {}),
  };
  const server = await startServer({
    dataDir: values['data-dir'] ?? './.fedweb',
    ...(stateUrl ? { stateUrl } : {}),
    ...(blobsUrl ? { blobsUrl } : {}),
    s3,
    onStandby: () => console.log('fedweb server standby: another controller holds the leader lease; waiting to take over'),
    onLeaseLost: () => {
      console.error('fedweb server: leader lease lost (PostgreSQL connection died); exiting so that a standby can take over');
      process.exit(1);
    },
    port: num(values.port, 'port') ?? 8080,
    host: values.host ?? '127.0.0.1',
    ...(secret ? { secret } : {}),
    ...(values['token-key'] ? { tokenKeyFile: resolve(values['token-key']) } : {}),
    ...(values['allow-tokens-without-exp'] ? { allowTokensWithoutExp: true } : {}),
    ...(values.insecure ? { insecure: true } : {}),
    ...(values.package ? { computePackage: { dir: resolve(values.package) } } : {}),
    ...(values.static ? { staticDir: resolve(values.static) } : {}),
    ...(values['heartbeat-ms'] ? { heartbeatMs: num(values['heartbeat-ms'], 'heartbeat-ms') as number } : {}),
    combiner: { ...flags.combiner, ...(values['reconnect-grace-ms'] ? { reconnectGraceMs: num(values['reconnect-grace-ms'], 'reconnect-grace-ms') as number } : {}) },
    connections: flags.connections,
    ...(values['link-keepalive-ms'] ? { linkKeepaliveMs: num(values['link-keepalive-ms'], 'link-keepalive-ms') as number } : {}),
    embeddedCombiner: values['embedded-combiner'] !== false,
    logLevel: (values['log-level'] ?? 'info') as LogLevel,
  });
  // Printed whatever the log level: scripts and tests wait for this line.
  console.log(`fedweb server listening on ${server.url} (dashboard ${server.url}/dashboard)`);
  onSignals(() => server.close());
}

async function cmdCombiner(args: string[]): Promise<void> {
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
  if (values.help) return void console.log(HELP.combiner);
  if (!values.controller || !values.name) throw new Error('--controller and --name are required (see fedweb combiner --help)');
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
    ...(values['link-keepalive-ms'] ? { linkKeepaliveMs: num(values['link-keepalive-ms'], 'link-keepalive-ms') as number } : {}),
    logLevel: (values['log-level'] ?? 'info') as LogLevel,
  });
  console.log(`fedweb combiner ${c.id} listening on ${c.url}`);
  onSignals(() => c.close());
}

async function cmdToken(args: string[]): Promise<void> {
  const { values } = parse(args, { role: { type: 'string' }, sub: { type: 'string' }, secret: { type: 'string' }, 'token-key': { type: 'string' }, ttl: { type: 'string' } });
  if (values.help) return void console.log(HELP.token);
  const secret = values.secret ?? process.env.FEDWEB_SECRET;
  const key = values['token-key'] ? await loadSigningKey(resolve(values['token-key'])) : undefined;
  if (!secret && !key) throw new Error('--secret, FEDWEB_SECRET or --token-key is required');
  if (!values.role || !ROLES.includes(values.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  if (!values.sub) throw new Error('--sub is required');
  const ttl = values.ttl === undefined ? DEFAULT_TOKEN_TTL[values.role as Role] : parseTokenTtl(values.ttl, '--ttl');
  console.log(await issueToken({ ...(key ? { key } : { secret: secret as string }), role: values.role as Role, sub: values.sub, expiresIn: ttl }));
}

async function cmdSession(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return void console.log(HELP.session);
  const { values, positionals } = parse(
    rest,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      rounds: { type: 'string' },
      'clients-required': { type: 'string' },
      'min-clients': { type: 'string' },
      'clients-per-round': { type: 'string' },
      'round-timeout-ms': { type: 'string' },
      'validate-timeout-ms': { type: 'string' },
      'local-epochs': { type: 'string' },
      'batch-size': { type: 'string' },
      'learning-rate': { type: 'string' },
      encoding: { type: 'string' },
      'topk-fraction': { type: 'string' },
      rounding: { type: 'string' },
      strategy: { type: 'string' },
      'strategy-options': { type: 'string' },
      validate: { type: 'boolean' },
      seed: { type: 'string' },
      'min-battery': { type: 'string' },
      'require-charging': { type: 'boolean' },
      'exclude-connection': { type: 'string', multiple: true },
      'max-update-norm': { type: 'string' },
      wait: { type: 'boolean' },
    },
    true,
  );
  if (values.help) return void console.log(HELP.session);
  const url = values.url ?? process.env.FEDWEB_URL ?? 'http://127.0.0.1:8080';
  const token = values.token ?? process.env.FEDWEB_TOKEN;
  const client = new ApiClient({ baseUrl: url, token });
  const id = positionals[0];
  const print = (v: unknown): void => console.log(JSON.stringify(v, null, 2));
  switch (action) {
    case 'list':
      return print({ sessions: await client.listSessions() });
    case 'status':
      if (!id) throw new Error('usage: fedweb session status <id>');
      return print(await client.getSession(id));
    case 'pause':
    case 'resume':
    case 'stop':
      if (!id) throw new Error(`usage: fedweb session ${action} <id>`);
      return print({ session: await (action === 'pause' ? client.pauseSession(id) : action === 'resume' ? client.resumeSession(id) : client.stopSession(id)) });
    case 'start': {
      const config: Record<string, unknown> = values.config ? (JSON.parse(await readFile(values.config, 'utf8')) as Record<string, unknown>) : {};
      const set = (key: string, v: unknown): void => {
        if (v !== undefined) config[key] = v;
      };
      set('id', values.id);
      set('name', values.name);
      set('rounds', num(values.rounds, 'rounds'));
      set('clientsRequired', num(values['clients-required'], 'clients-required'));
      set('minClients', num(values['min-clients'], 'min-clients'));
      set('clientsPerRound', num(values['clients-per-round'], 'clients-per-round'));
      set('roundTimeoutMs', num(values['round-timeout-ms'], 'round-timeout-ms'));
      set('validateTimeoutMs', num(values['validate-timeout-ms'], 'validate-timeout-ms'));
      set('localEpochs', num(values['local-epochs'], 'local-epochs'));
      set('batchSize', num(values['batch-size'], 'batch-size'));
      set('learningRate', num(values['learning-rate'], 'learning-rate'));
      set('encoding', values.encoding);
      set('topkFraction', num(values['topk-fraction'], 'topk-fraction'));
      set('rounding', values.rounding);
      set('validate', values.validate);
      set('seed', num(values.seed, 'seed'));
      set('maxUpdateNorm', num(values['max-update-norm'], 'max-update-norm'));
      if (values.strategy || values['strategy-options']) {
        const prev = (config.strategy ?? {}) as Record<string, unknown>;
        config.strategy = {
          ...prev,
          ...(values.strategy ? { name: values.strategy } : {}),
          ...(values['strategy-options'] ? { options: JSON.parse(values['strategy-options']) as unknown } : {}),
        };
      }
      if (values['min-battery'] || values['require-charging'] || values['exclude-connection']) {
        const prev = (config.selection ?? {}) as Record<string, unknown>;
        config.selection = {
          ...prev,
          ...(values['min-battery'] ? { minBattery: num(values['min-battery'], 'min-battery') } : {}),
          ...(values['require-charging'] ? { requireCharging: true } : {}),
          ...(values['exclude-connection'] ? { excludeConnectionTypes: values['exclude-connection'] } : {}),
        };
      }
      const session = await client.startSession(config as StartSessionInput);
      if (!values.wait) return print(session);
      console.log(`session ${session.id} started: ${session.config.rounds} round(s), each waits for ${session.config.clientsRequired} client(s) at a combiner`);
      if ((await followSession(client, session.id, (line) => console.log(line))) !== 'completed') process.exitCode = 1;
      return;
    }
    default:
      throw new Error(`unknown session action '${action}' (see fedweb session --help)`);
  }
}

function onSignals(close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: string): void => {
    if (closing) process.exit(1);
    closing = true;
    console.error(`${signal}: shutting down`);
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

/**
 * Runs the CLI with the given arguments (without `node` and the script).
 * @example
 * ```ts
 * await main(['token', '--role', 'client', '--sub', 'kiosk-17', '--secret', secret]);
 * ```
 */
export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'server':
    case 'start':
      return cmdServer(args);
    case 'combiner':
      return cmdCombiner(args);
    case 'token':
      return cmdToken(args);
    case 'session':
      return cmdSession(args);
    case 'package':
      return cmdPackage(args);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return void console.log(HELP.main);
    default:
      throw new Error(`unknown command '${command}'\n\n${HELP.main}`);
  }
}

const isMain = process.argv[1] !== undefined && /cli\.ts$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    const err = toFedError(e);
    console.error(`fedweb: ${err.code === 'INTERNAL' ? '' : `${err.code}: `}${err.message}`);
    process.exit(1);
  });
}
