/**
 * `fedweb session <start|list|status|pause|resume|stop|rollback>`: sessions through the REST API. `start` takes
 * every session config field as a flag, generated from the schema (session-flags.ts).
 */
import { readFile } from 'node:fs/promises';
import { fedError } from '@fedweb/codec';
import type { SessionView, StartSessionInput } from '../api-client/index.js';
import { StartSessionSchema } from '../http/schemas.js';
import { JSON_HELP, JSON_OPTION, need, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Column, type Out } from './output.js';
import { roundColumns } from './rounds.js';
import { configFlags, configFromFlags, flagHelp, flagOptions } from './session-flags.js';
import { followSession } from './session-wait.js';

/** The options of `session start` that are not config fields. */
const START_OPTIONS = { ...REMOTE_OPTIONS, config: { type: 'string' }, wait: { type: 'boolean' }, 'wait-every-ms': { type: 'string' } } as const;

/** Every config field of `POST /api/sessions` (with the session `id`) as a flag, from the schema. */
export const SESSION_FLAGS = configFlags(StartSessionSchema, [...Object.keys(START_OPTIONS), ...Object.keys(JSON_OPTION), 'help']);

/** The help text of `fedweb session`. */
export const SESSION_HELP = `usage: fedweb session start [config flags] [--config file.json] [--wait]
       fedweb session list [--json]
       fedweb session status <id> [--json]
       fedweb session pause|resume|stop <id> [--json]
       fedweb session rollback <id> <model-id> [--json]   (the next round trains that model of the trail)

common:
${REMOTE_HELP}
${JSON_HELP}

session start:
  --config <file.json>    read the config from a JSON file (flags override it, nested fields one by one)
  --wait                  follow the session until it ends: what it waits for (clients online, the round's
                          training, validation) and each round as it ends; exit code 1 unless it completed
  --wait-every-ms <n>     how often --wait asks the server (default 1000)

session config (every field of the schema, generated from it; see the README's "Session config"). Nested fields
are dotted flags; a boolean is --flag or --no-flag; a list flag is repeated; <json> takes a JSON value:
${flagHelp(SESSION_FLAGS)}`;

/** The columns of a session list. */
export const SESSION_COLUMNS: Column<SessionView>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'STATUS', value: (s) => s.status },
  { header: 'ROUNDS', value: (s) => `${s.completedRounds}/${s.config.rounds}`, right: true },
  { header: 'STRATEGY', value: (s) => s.config.strategy.name },
  { header: 'MODEL', value: (s) => s.currentModelId },
  { header: 'CREATED', value: (s) => when(s.createdAt) },
  { header: 'NAME', value: (s) => s.name },
];

/**
 * The session config `start` sends: the `--config` file (if any) with the flags merged over it, checked
 * against the schema here so a mistake names its flag before anything is sent.
 * @example
 * ```ts
 * await startConfig({ rounds: '3', 'strategy.name': 'fedadam' }); // { rounds: 3, strategy: { name: 'fedadam' } }
 * ```
 */
export async function startConfig(values: Record<string, unknown>): Promise<StartSessionInput> {
  let base: Record<string, unknown> = {};
  if (typeof values.config === 'string') {
    try {
      base = JSON.parse(await readFile(values.config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw fedError('BAD_CONFIG', `--config ${values.config}: ${(e as Error).message}`);
    }
  }
  const config = configFromFlags(SESSION_FLAGS, values, base);
  const r = StartSessionSchema.safeParse(config);
  if (!r.success) {
    const issue = r.error.issues[0];
    const flag = SESSION_FLAGS.find((f) => f.path.join('.') === issue?.path.join('.'));
    throw fedError('BAD_CONFIG', `${flag ? `--${flag.flag}` : issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`);
  }
  return config as StartSessionInput;
}

/**
 * Runs `fedweb session ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdSession(['start', '--rounds', '3', '--wait'], STDOUT);
 * ```
 */
export async function cmdSession(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(SESSION_HELP), 0;
  const { values, positionals } = parse(rest, { ...START_OPTIONS, ...JSON_OPTION, ...flagOptions(SESSION_FLAGS) }, true);
  if (values.help) return out.line(SESSION_HELP), 0;
  const api = remote(values);
  const json = values.json === true;
  switch (action) {
    case 'list': {
      const sessions = await api.listSessions();
      return show(out, json, { sessions }, () => table(sessions, SESSION_COLUMNS)), 0;
    }
    case 'status':
    case 'show': {
      const d = await api.getSession(need(positionals, 0, 'fedweb session status <id>'));
      const live = d.live ? `round ${d.live.round} ${d.live.phase}, ${d.live.selected} client(s) selected` : 'none';
      return show(out, json, d, () => `${table([d.session], SESSION_COLUMNS)}\n\nlive round: ${live}\n\n${table(d.rounds, roundColumns())}`), 0;
    }
    case 'pause':
    case 'resume':
    case 'stop': {
      const id = need(positionals, 0, `fedweb session ${action} <id>`);
      const session = await (action === 'pause' ? api.pauseSession(id) : action === 'resume' ? api.resumeSession(id) : api.stopSession(id));
      return show(out, json, { session }, () => table([session], SESSION_COLUMNS)), 0;
    }
    case 'rollback': {
      const r = await api.rollbackSession(need(positionals, 0, 'fedweb session rollback <id> <model-id>'), need(positionals, 1, 'fedweb session rollback <id> <model-id>'));
      return show(out, json, r, () => `session ${r.session.id} rolled back from ${r.previousModelId} to ${r.session.currentModelId}: the next round trains it`), 0;
    }
    case 'start': {
      const session = await api.startSession(await startConfig(values));
      if (!values.wait) return show(out, json, { session }, () => table([session], SESSION_COLUMNS)), 0;
      out.line(`session ${session.id} started: ${session.config.rounds} round(s), each waits for ${session.config.clientsRequired} client(s) at a combiner`);
      const everyMs = values['wait-every-ms'] !== undefined ? Number(values['wait-every-ms']) : undefined;
      const status = await followSession(api, session.id, (line) => out.line(line), everyMs !== undefined ? { everyMs } : {});
      return status === 'completed' ? 0 : 1;
    }
    default:
      throw fedError('BAD_CONFIG', `unknown session action '${action}' (see fedweb session --help)`);
  }
}
