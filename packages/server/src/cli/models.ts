/**
 * `fedweb models <list|download|rollback|blob>`: the model trail, a model's bytes (with a progress bar on a
 * terminal), and rolling a session back to an earlier model of its trail.
 */
import { writeFile } from 'node:fs/promises';
import { fedError, formatBytes } from '@fedweb/codec';
import type { ApiClient, ModelView } from '../api-client/index.js';
import { JSON_HELP, JSON_OPTION, need, num, parse, remote, REMOTE_HELP, REMOTE_OPTIONS } from './args.js';
import { show, table, when, type Column, type Out } from './output.js';
import { progressBar } from './progress.js';

/** The help text of `fedweb models`. */
export const MODELS_HELP = `usage: fedweb models list [--session <id>] [--json]
       fedweb models download <model-id> [-o file] [--max-bytes n]   (default file: <model-id>.fwf)
       fedweb models rollback <model-id> [--session <id>] [--json]
       fedweb models blob <sha256> [-o file]                         (GET /api/blobs/:sha256)

rollback: the session's next round trains <model-id> (one of its models, or the one it started from); a round
in flight is aborted. The session is --session, else the model's own session. Audited.
download writes the exact bytes served (an f32 tensor frame; the codec's decodeFrame reads it); a bar shows
progress on a terminal.

${REMOTE_HELP}
${JSON_HELP}`;

/** The columns of the model trail. */
export const MODEL_COLUMNS: Column<ModelView>[] = [
  { header: 'ID', value: (m) => m.id },
  { header: 'PARENT', value: (m) => m.parentId },
  { header: 'SESSION', value: (m) => m.sessionId },
  { header: 'ROUND', value: (m) => m.round, right: true },
  { header: 'BYTES', value: (m) => m.bytes, right: true },
  { header: 'SHA256', value: (m) => m.sha256.slice(0, 16) },
  { header: 'CREATED', value: (m) => when(m.createdAt) },
];

/**
 * Downloads with a progress bar on a terminal, then writes the bytes to `file`.
 * @example
 * ```ts
 * await download(out, 'model s1.m3', 's1.m3.fwf', (o) => api.downloadModel('s1.m3', o));
 * ```
 */
export async function download(out: Out, label: string, file: string, get: (o: { onProgress?: (d: number, t: number | null) => void }) => Promise<Uint8Array>): Promise<number> {
  const bar = progressBar(out, label);
  let bytes: Uint8Array;
  try {
    bytes = await get(bar ? { onProgress: bar.update } : {});
  } finally {
    bar?.done();
  }
  await writeFile(file, bytes);
  return bytes.byteLength;
}

/** The session a rollback applies to: `--session`, else the model's own. */
async function sessionOfModel(api: ApiClient, modelId: string, session: string | undefined): Promise<string> {
  if (session) return session;
  const model = (await api.listModels()).find((m) => m.id === modelId);
  if (!model) throw fedError('NOT_FOUND', `no model ${modelId} in the trail`);
  if (!model.sessionId) throw fedError('BAD_CONFIG', `model ${modelId} is a seed model: name the session with --session <id>`);
  return model.sessionId;
}

/**
 * Runs `fedweb models ...`; returns the exit code.
 * @example
 * ```ts
 * await cmdModels(['download', 's1.m3', '-o', 'm3.fwf'], STDOUT);
 * ```
 */
export async function cmdModels(args: string[], out: Out): Promise<number> {
  const [action, ...rest] = args;
  if (!action || action === '--help' || action === '-h') return out.line(MODELS_HELP), 0;
  const { values, positionals } = parse(rest, { ...REMOTE_OPTIONS, ...JSON_OPTION, session: { type: 'string' }, out: { type: 'string', short: 'o' }, 'max-bytes': { type: 'string' } }, true);
  if (values.help) return out.line(MODELS_HELP), 0;
  const api = remote(values);
  const maxBytes = num(values['max-bytes'], 'max-bytes');
  const transfer = { timeoutMs: num(values['timeout-ms'], 'timeout-ms') ?? 120_000, ...(maxBytes !== undefined ? { maxBytes } : {}) };
  switch (action) {
    case 'list': {
      const models = await api.listModels(values.session);
      return show(out, values.json, { models }, () => table(models, MODEL_COLUMNS)), 0;
    }
    case 'download': {
      const id = need(positionals, 0, 'fedweb models download <model-id> [-o file]');
      const file = values.out ?? `${id}.fwf`;
      const n = await download(out, `model ${id}`, file, (o) => api.downloadModel(id, { ...transfer, ...o }));
      return out.line(`model ${id}: ${formatBytes(n)} written to ${file}`), 0;
    }
    case 'blob': {
      const sha = need(positionals, 0, 'fedweb models blob <sha256> [-o file]');
      const file = values.out ?? `${sha}.bin`;
      const n = await download(out, `blob ${sha.slice(0, 12)}`, file, (o) => api.downloadBlob(sha, { ...transfer, ...o }));
      return out.line(`blob ${sha}: ${formatBytes(n)} written to ${file}`), 0;
    }
    case 'rollback': {
      const id = need(positionals, 0, 'fedweb models rollback <model-id> [--session <id>]');
      const r = await api.rollbackSession(await sessionOfModel(api, id, values.session), id);
      return show(out, values.json, r, () => `session ${r.session.id} rolled back from ${r.previousModelId} to ${r.session.currentModelId}: round ${r.session.completedRounds + 1} trains it`), 0;
    }
    default:
      throw fedError('BAD_CONFIG', `unknown models action '${action}' (see fedweb models --help)`);
  }
}
