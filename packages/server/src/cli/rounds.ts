/**
 * `fedweb rounds <list|show>`: a session's rounds (from `GET /api/sessions/:id`).
 */
import { fedError } from '@fedweb/codec';
import type { RoundView } from '../api-client/index.js';
import { JSON_HELP, JSON_OPTION, need, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Column, type Out } from './output.js';

/** The help text of `fedweb rounds`. */
export const ROUNDS_HELP = `usage: fedweb rounds list <session-id> [--json]
       fedweb rounds show <session-id> <round> [--json]   (every attempt of that round: a rerun after a restart or a rollback is another)

${REMOTE_HELP}
${JSON_HELP}`;

/**
 * The columns of a rounds table.
 * @example
 * ```ts
 * table(detail.rounds, roundColumns());
 * ```
 */
export function roundColumns(): Column<RoundView>[] {
  return [
    { header: 'ROUND', value: (r) => r.round, right: true },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'UPDATES', value: (r) => r.updates, right: true },
    { header: 'WEIGHT', value: (r) => r.weight, right: true },
    { header: 'MODEL', value: (r) => r.modelId },
    { header: 'STARTED', value: (r) => when(r.startedAt) },
    { header: 'METRICS', value: (r) => (Object.keys(r.trainMetrics).length ? r.trainMetrics : null) },
    { header: 'REASON', value: (r) => r.reason },
  ];
}

/**
 * Runs `fedweb rounds ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdRounds(['list', 'mnist-1', '--json'], STDOUT);
 * ```
 */
export async function cmdRounds(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(ROUNDS_HELP), 0;
  const { values, positionals } = parse(rest, { ...REMOTE_OPTIONS, ...JSON_OPTION }, true);
  if (values.help) return out.line(ROUNDS_HELP), 0;
  const api = remote(values);
  if (action === 'list') {
    const { rounds } = await api.getSession(need(positionals, 0, 'fedweb rounds list <session-id>'));
    return show(out, values.json, { rounds }, () => table(rounds, roundColumns())), 0;
  }
  if (action === 'show') {
    const usage = 'fedweb rounds show <session-id> <round>';
    const sessionId = need(positionals, 0, usage);
    const n = Number(need(positionals, 1, usage));
    const rounds = (await api.getSession(sessionId)).rounds.filter((r) => r.round === n);
    if (rounds.length === 0) throw fedError('NOT_FOUND', `session ${sessionId} has no round ${positionals[1]}`);
    const detail = (r: RoundView): string =>
      [
        `round ${r.round} (${r.id}): ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
        `  model ${r.modelId ?? '-'}, ${r.updates} update(s), weight ${r.weight}, combiners ${r.combiners.join(', ') || '-'}`,
        `  started ${when(r.startedAt)}, committed ${when(r.committedAt)}`,
        `  train ${JSON.stringify(r.trainMetrics)} validation ${JSON.stringify(r.validationMetrics)} timings ${JSON.stringify(r.timings)}`,
        table(r.partials, [
          { header: '  COMBINER', value: (p) => `  ${p.combinerId}` },
          { header: 'COUNT', value: (p) => p.count, right: true },
          { header: 'WEIGHT', value: (p) => p.weight, right: true },
          { header: 'REFUSED', value: (p) => p.refused, right: true },
          { header: 'STALE', value: (p) => p.refusedStale, right: true },
        ]),
      ].join('\n');
    return show(out, values.json, { rounds }, () => rounds.map(detail).join('\n\n')), 0;
  }
  throw fedError('BAD_CONFIG', `unknown rounds action '${action}' (see fedweb rounds --help)`);
}
