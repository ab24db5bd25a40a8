/**
 * `fedweb audit`: the audit log (admin token): who did what, when; newest first, paged.
 */
import { fedError } from '@fedweb/codec';
import type { AuditEntryView } from '../api-client/index.js';
import { AUDIT_ACTIONS, type AuditAction } from '../http/schemas.js';
import { JSON_HELP, JSON_OPTION, num, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Column, type Out } from './output.js';

/** The help text of `fedweb audit`. */
export const AUDIT_HELP = `usage: fedweb audit [list] [--action <action>] [--since <epoch-ms|ISO date>] [--limit 100] [--cursor <next>] [--all] [--json]

Operator actions recorded by the controller (GET /api/audit; an admin token): ${AUDIT_ACTIONS.join(', ')}.
Newest first; a page ends with the --cursor of the next when there is more; --all follows every page.

${REMOTE_HELP}
${JSON_HELP}`;

/** The columns of the audit table. */
export const AUDIT_COLUMNS: Column<AuditEntryView>[] = [
  { header: 'ID', value: (e) => e.id, right: true },
  { header: 'WHEN', value: (e) => when(e.at) },
  { header: 'ACTOR', value: (e) => (e.role ? `${e.actor} (${e.role})` : e.actor) },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'TARGET', value: (e) => e.target },
  { header: 'DETAIL', value: (e) => (Object.keys(e.detail).length ? e.detail : null) },
];

/**
 * Runs `fedweb audit ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdAudit(['--action', 'session.start', '--json'], STDOUT);
 * ```
 */
export async function cmdAudit(args: string[], out: Out): Promise<number> {
  const rest = args[0] === 'list' ? args.slice(1) : args;
  const { values } = parse(rest, { ...REMOTE_OPTIONS, ...JSON_OPTION, action: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } });
  if (values.help) return out.line(AUDIT_HELP), 0;
  if (values.action !== undefined && !AUDIT_ACTIONS.includes(values.action as AuditAction)) throw fedError('BAD_CONFIG', `--action must be one of ${AUDIT_ACTIONS.join(', ')}`);
  const limit = num(values.limit, 'limit');
  const filter = { ...(values.action !== undefined ? { action: values.action as AuditAction } : {}), ...(values.since !== undefined ? { since: values.since } : {}), ...(limit !== undefined ? { limit } : {}) };
  const api = remote(values);
  let entries: AuditEntryView[];
  let next: string | null = null;
  if (values.all) {
    entries = [];
    for await (const e of api.allAudit(filter)) entries.push(e);
  } else {
    ({ entries, next } = await api.listAudit({ ...filter, ...(values.cursor !== undefined ? { cursor: values.cursor } : {}) }));
  }
  return show(out, values.json, { entries, next }, () => `${table(entries, AUDIT_COLUMNS)}${next ? `\nmore: --cursor ${next}` : ''}`), 0;
}
