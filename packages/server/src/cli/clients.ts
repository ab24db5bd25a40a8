/**
 * `fedweb clients <list|discover>`: the clients the controller has seen (paged), and discovery for a client id.
 */
import { fedError } from '@fedweb/codec';
import type { ClientView } from '../api-client/index.js';
import { JSON_HELP, JSON_OPTION, need, num, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Column, type Out } from './output.js';

/** The help text of `fedweb clients`. */
export const CLIENTS_HELP = `usage: fedweb clients list [--limit 100] [--after <client-id>] [--all] [--online] [--json]
       fedweb clients discover <client-id> [--json]   (POST /api/discover: the combiner it would be sent to)
       fedweb clients contributions <client-id...> [--json]   (updates counted per client by the embedded combiner since start)

list prints one page in id order and, when there is more, the --after of the next; --all follows every page.

${REMOTE_HELP}
${JSON_HELP}`;

/** The columns of the clients table. */
export const CLIENT_COLUMNS: Column<ClientView>[] = [
  { header: 'CLIENT', value: (c) => c.clientId },
  { header: 'ONLINE', value: (c) => (c.online ? 'yes' : 'no') },
  { header: 'COMBINER', value: (c) => c.combinerId ?? c.lastCombinerId },
  { header: 'BACKEND', value: (c) => c.capabilities.backend },
  { header: 'PLATFORM', value: (c) => c.capabilities.platform },
  { header: 'BATTERY', value: (c) => (c.capabilities.battery ? `${Math.round(c.capabilities.battery.level * 100)}%${c.capabilities.battery.charging ? '+' : ''}` : null) },
  { header: 'CONNECTION', value: (c) => c.capabilities.connection?.type },
  { header: 'LAST SEEN', value: (c) => when(c.lastSeen) },
  { header: 'CONTRIBUTED', value: (c) => when(c.contributedAt) },
];

/**
 * Runs `fedweb clients ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdClients(['list', '--online'], STDOUT);
 * ```
 */
export async function cmdClients(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(CLIENTS_HELP), 0;
  const { values, positionals } = parse(rest, { ...REMOTE_OPTIONS, ...JSON_OPTION, limit: { type: 'string' }, after: { type: 'string' }, all: { type: 'boolean' }, online: { type: 'boolean' } }, true);
  if (values.help) return out.line(CLIENTS_HELP), 0;
  const api = remote(values);
  if (action === 'discover') {
    const r = await api.discover(need(positionals, 0, 'fedweb clients discover <client-id>'));
    return show(out, values.json, r, () => `${positionals[0]} -> combiner ${r.combinerId} at ${r.url}`), 0;
  }
  if (action === 'contributions') {
    const counts = await api.contributions(positionals);
    return show(out, values.json, { contributions: counts }, () => table(Object.entries(counts), [{ header: 'CLIENT', value: ([id]) => id }, { header: 'UPDATES', value: ([, n]) => n, right: true }])), 0;
  }
  if (action !== 'list') throw fedError('BAD_CONFIG', `unknown clients action '${action}' (see fedweb clients --help)`);
  const limit = num(values.limit, 'limit');
  let clients: ClientView[];
  let next: string | null = null;
  let online: number;
  if (values.all) {
    clients = [];
    for await (const c of api.allClients(limit !== undefined ? { limit } : {})) clients.push(c);
    online = clients.filter((c) => c.online).length;
  } else {
    const page = await api.listClients({ ...(limit !== undefined ? { limit } : {}), ...(values.after !== undefined ? { after: values.after } : {}) });
    ({ clients, next, online } = page);
  }
  if (values.online) clients = clients.filter((c) => c.online);
  return show(out, values.json, { clients, online, next }, () => `${table(clients, CLIENT_COLUMNS)}\n${online} online${next ? `; more: --after ${next}` : ''}`), 0;
}
