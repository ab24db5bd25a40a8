/**
 * `fedweb server` (alias `start`): the controller, discovery, reducer and an embedded combiner in one process.
 */
import { resolve } from 'node:path';
import type { LogLevel } from '../log.js';
import { startServer } from '../server.js';
import { num, parse } from './args.js';
import { LIMIT_HELP, LIMIT_OPTIONS, limitFlags } from './limits.js';
import type { Out } from './output.js';
import { onSignals } from './signals.js';

/** The help text of `fedweb server`. */
export const SERVER_HELP = `usage: fedweb server [options]

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
(serves --port, resumes the sessions) when the leader's lease ends; a leader that loses its lease exits with 1.`;

/**
 * Runs `fedweb server` (until a signal); returns once it listens.
 * @example
 * ```ts
 * await cmdServer(['--port', '0', '--data-dir', dir], STDOUT);
 * ```
 */
export async function cmdServer(args: string[], out: Out): Promise<number> {
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
  if (values.help) return out.line(SERVER_HELP), 0;
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
    onStandby: () => out.line('fedweb server standby: another controller holds the leader lease; waiting to take over'),
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
    ...(flags.metrics ? { metricsPort: flags.metrics.port, ...(flags.metrics.host ? { metricsHost: flags.metrics.host } : {}) } : {}),
    logLevel: (values['log-level'] ?? 'info') as LogLevel,
  });
  // Printed whatever the log level: scripts and tests wait for this line.
  out.line(`fedweb server listening on ${server.url} (dashboard ${server.url}/dashboard)`);
  onSignals(() => server.close());
  return 0;
}
