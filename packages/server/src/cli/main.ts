/**
 * The `fedweb` command line (bin/fedweb.mjs runs this file through tsx): one module per command group in this
 * folder; this file only dispatches. Every command has `--help`; every read command takes `--json` (else an
 * aligned table); every REST operation has a command. The README's "CLI" section documents them.
 */
import { toFedError } from '@fedweb/codec';
import { cmdAudit } from './audit.js';
import { cmdClients } from './clients.js';
import { cmdCombiner } from './combiner.js';
import { cmdCombiners, cmdStatus } from './combiners.js';
import { cmdEvents } from './events.js';
import { cmdModels } from './models.js';
import { STDOUT, type Out } from './output.js';
import { cmdPackage } from './packages.js';
import { cmdRounds } from './rounds.js';
import { cmdServer } from './server.js';
import { cmdSession } from './session.js';
import { cmdToken, cmdTokens } from './tokens.js';

/** The top-level help. */
export const MAIN_HELP = `fedweb: federated learning for the web and the edge

usage: fedweb <command> [action] [options]

processes:
  server       start the controller, discovery, reducer and an embedded combiner (alias: start)
  combiner     start an extra combiner process that registers with a controller
offline:
  token        sign a JWT for a role with the secret or key file (on the controller's host)
  package      build | keygen | sign a compute package (and the REST actions below)
REST (--url, --token or FEDWEB_URL, FEDWEB_TOKEN; --json on every read):
  status       the controller's status
  session      start (every config field a flag) | list | status | pause | resume | stop | rollback
  rounds       list | show: a session's rounds
  models       list | download | rollback | blob: the model trail
  package      upload | active | manifest | download (alias: packages)
  clients      list | discover | contributions
  combiners    list
  tokens       issue | jwks
  audit        the audit log of operator actions (admin)
  events       follow the server live (the dashboard's event stream)

Run 'fedweb <command> --help' for the options of a command.`;

/**
 * The command of every REST route (a test compares this with the routes a server registers, so a new route
 * without a command fails there). Routes no operator calls by hand are listed with why.
 */
export const REST_COMMANDS: Readonly<Record<string, string>> = {
  'GET /api/status': 'fedweb status',
  'POST /api/discover': 'fedweb clients discover <client-id>',
  'GET /api/clients': 'fedweb clients list',
  'GET /api/combiners': 'fedweb combiners list',
  'GET /api/sessions': 'fedweb session list',
  'POST /api/sessions': 'fedweb session start',
  'GET /api/sessions/:id': 'fedweb session status <id>; fedweb rounds list|show <id>',
  'POST /api/sessions/:id/pause': 'fedweb session pause <id>',
  'POST /api/sessions/:id/resume': 'fedweb session resume <id>',
  'POST /api/sessions/:id/stop': 'fedweb session stop <id>',
  'POST /api/sessions/:id/rollback': 'fedweb models rollback <model-id>; fedweb session rollback <id> <model-id>',
  'GET /api/models': 'fedweb models list',
  'GET /api/models/:id': 'fedweb models download <id>',
  'GET /api/blobs/:sha256': 'fedweb models blob <sha256>',
  'POST /api/packages': 'fedweb package upload <dir>',
  'GET /api/packages/active': 'fedweb package active',
  'GET /api/packages/:sha256': 'fedweb package download <sha256>',
  'GET /api/packages/:sha256/manifest': 'fedweb package manifest <sha256>',
  'POST /api/tokens': 'fedweb tokens issue',
  'GET /.well-known/jwks.json': 'fedweb tokens jwks',
  'GET /api/audit': 'fedweb audit',
  'GET /api/events': 'fedweb events',
  'GET /api/contributions': 'fedweb clients contributions <client-id...>',
};

const COMMANDS: Record<string, (args: string[], out: Out) => Promise<number>> = {
  server: cmdServer,
  start: cmdServer,
  combiner: cmdCombiner,
  token: cmdToken,
  tokens: cmdTokens,
  status: cmdStatus,
  session: cmdSession,
  sessions: cmdSession,
  rounds: cmdRounds,
  models: cmdModels,
  package: cmdPackage,
  packages: cmdPackage,
  clients: cmdClients,
  combiners: cmdCombiners,
  audit: cmdAudit,
  events: cmdEvents,
};

/**
 * Runs the CLI with the given arguments (without `node` and the script); resolves with the exit code (0 unless
 * the command says otherwise, e.g. `session start --wait` on a session that did not complete).
 * @example
 * ```ts
 * await main(['token', '--role', 'client', '--sub', 'kiosk-17', '--secret', secret]);
 * ```
 */
export async function main(argv: string[], out: Out = STDOUT): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return out.line(MAIN_HELP), 0;
  const run = COMMANDS[command];
  if (!run) throw new Error(`unknown command '${command}'\n\n${MAIN_HELP}`);
  return run(args, out);
}

const isMain = process.argv[1] !== undefined && /cli[\\/]main\.ts$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const err = toFedError(e);
      console.error(`fedweb: ${err.code === 'INTERNAL' ? '' : `${err.code}: `}${err.message}`);
      process.exit(1);
    },
  );
}
