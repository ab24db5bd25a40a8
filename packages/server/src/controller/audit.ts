/**
 * The audit log's write side: who did what, when. Routes record each operator action after it succeeded (the
 * actor from the request's principal, {@link actorOf}); the server process records what it does on its own
 * behalf (`--package` at start) as {@link LOCAL_ACTOR}. Entries live in the state store (`appendAudit`), read
 * back by `GET /api/audit`.
 */
import { toFedError } from '@fedweb/codec';
import { ANONYMOUS_ADMIN, type Principal } from '../auth.js';
import type { AuditAction } from '../http/schemas.js';
import type { Logger } from '../log.js';
import type { AuditRecord, PackageRecord, StateStore } from '../store/types.js';


/** Who acted: a token's subject and role, `anonymous` (auth off) or `local` (the server process). */
export interface AuditActor {
  actor: string;
  role: string | null;
}

/** Where entries go, and where a lost one is reported. */
export interface AuditDeps {
  state: Pick<StateStore, 'appendAudit'>;
  log: Pick<Logger, 'error'>;
}

/** The server process itself (e.g. `fedweb server --package`). */
export const LOCAL_ACTOR: AuditActor = { actor: 'local', role: null };

/**
 * The actor of a request's principal: the token's subject and role, or `anonymous` when auth is off.
 * @example
 * ```ts
 * actorOf({ role: 'operator', sub: 'ops' }) // { actor: 'ops', role: 'operator' }
 * ```
 */
export function actorOf(principal: Principal): AuditActor {
  return principal === ANONYMOUS_ADMIN ? { actor: 'anonymous', role: null } : { actor: principal.sub, role: principal.role };
}

/**
 * Appends an entry for an action that already happened. A store failure does not undo the action, so it is
 * logged at error level (with the entry) rather than thrown, and the entry is returned as null.
 * @example
 * ```ts
 * await recordAudit({ state, log }, actorOf(principal), 'session.stop', session.id);
 * ```
 */
export async function recordAudit(
  deps: AuditDeps,
  who: AuditActor,
  action: AuditAction,
  target: string | null,
  detail: Record<string, unknown> = {},
): Promise<AuditRecord | null> {
  const entry = { at: Date.now(), ...who, action, target, detail };
  try {
    return await deps.state.appendAudit(entry);
  } catch (e) {
    deps.log.error({ err: toFedError(e).message, audit: entry }, 'audit entry could not be stored');
    return null;
  }
}

/**
 * Records a package upload (and its activation, when it became the active package) in the audit log.
 * @example
 * ```ts
 * await auditPackage({ state, log }, LOCAL_ACTOR, rec);
 * ```
 */
export async function auditPackage(deps: AuditDeps, who: AuditActor, rec: PackageRecord): Promise<void> {
  const detail = { name: rec.name, version: rec.version, bytes: rec.bytes, seedModelId: rec.seedModelId };
  await recordAudit(deps, who, 'package.upload', rec.sha256, detail);
  if (rec.active) await recordAudit(deps, who, 'package.activate', rec.sha256, { name: rec.name, version: rec.version });
}
