/**
 * `fedweb combiners list` and `fedweb status`: the combiners registered with the controller, and the
 * controller's status (version, auth, clients online, the active session and its live round, the package).
 */
import { fedError } from '@fedweb/codec';
import type { CombinerView } from '../api-client/index.js';
import { JSON_HELP, JSON_OPTION, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Column, type Out } from './output.js';

/** The help text of `fedweb combiners`. */
export const COMBINERS_HELP = `usage: fedweb combiners list [--json]

${REMOTE_HELP}
${JSON_HELP}`;

/** The help text of `fedweb status`. */
export const STATUS_HELP = `usage: fedweb status [--json]   (GET /api/status)

${REMOTE_HELP}
${JSON_HELP}`;

/** The columns of the combiners table. */
export const COMBINER_COLUMNS: Column<CombinerView>[] = [
  { header: 'COMBINER', value: (c) => c.combinerId },
  { header: 'EMBEDDED', value: (c) => (c.embedded ? 'yes' : 'no') },
  { header: 'CLIENTS', value: (c) => c.clients, right: true },
  { header: 'URL', value: (c) => c.url },
  { header: 'CONNECTED', value: (c) => when(c.connectedAt) },
  { header: 'LAST STATUS', value: (c) => when(c.lastStatusAt) },
];

/**
 * Runs `fedweb combiners ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdCombiners(['list', '--json'], STDOUT);
 * ```
 */
export async function cmdCombiners(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(COMBINERS_HELP), 0;
  if (action !== 'list') throw fedError('BAD_CONFIG', `unknown combiners action '${action}' (see fedweb combiners --help)`);
  const { values } = parse(rest, { ...REMOTE_OPTIONS, ...JSON_OPTION });
  if (values.help) return out.line(COMBINERS_HELP), 0;
  const combiners = await remote(values).listCombiners();
  return show(out, values.json, { combiners }, () => table(combiners, COMBINER_COLUMNS)), 0;
}

/**
 * Runs `fedweb status`; returns the exit code.
 * @example
 * ```ts
 * await cmdStatus(['--url', 'http://10.0.0.1:8080'], STDOUT);
 * ```
 */
export async function cmdStatus(args: string[], out: Out): Promise<number> {
  const { values } = parse(args, { ...REMOTE_OPTIONS, ...JSON_OPTION });
  if (values.help) return out.line(STATUS_HELP), 0;
  const s = await remote(values).status();
  const rows: Array<[string, unknown]> = [
    ['version', s.version],
    ['auth', s.auth ? 'on' : 'off'],
    ['uptime', `${Math.round(s.uptimeS)} s`],
    ['combiners', s.combiners],
    ['clients online', s.clientsOnline],
    ['session', s.activeSession ? `${s.activeSession.id} ${s.activeSession.status}, ${s.activeSession.completedRounds}/${s.activeSession.rounds} rounds, model ${s.activeSession.currentModelId}` : null],
    ['live round', s.live[0] ? `round ${s.live[0].round} ${s.live[0].phase}, ${s.live[0].selected} selected` : null],
    ['package', s.package ? `${s.package.name}@${s.package.version} ${s.package.sha256.slice(0, 16)}` : null],
  ];
  return show(out, values.json, s, () => table(rows, [{ header: 'FIELD', value: (r) => r[0] }, { header: 'VALUE', value: (r) => r[1] }])), 0;
}
