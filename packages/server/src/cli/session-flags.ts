/**
 * `fedweb session start`'s config flags, GENERATED from the session config's zod schema, so a field added to the
 * schema gets a flag (and a help line) without a change here, and a flag cannot name a field that is gone.
 * The walk: numbers (`--rounds 5`), booleans (`--validate`, `--no-validate`), enums (`--encoding int8`, checked
 * against the choices), strings, arrays of strings or enums (repeatable: `--selection.platforms browser
 * --selection.platforms node`), nested objects as dotted flags (`--selection.min-battery 0.2`), and anything else
 * (free-form maps, unions) as JSON (`--extra '{"k":1}'`). Field names become kebab-case.
 */
import type { z } from 'zod';
import { fedError } from '@fedweb/codec';

/** One generated flag. */
export interface ConfigFlag {
  /** The flag without `--`, e.g. `selection.min-battery`. */
  flag: string;
  /** The config field it sets, e.g. `['selection', 'minBattery']`. */
  path: string[];
  kind: 'int' | 'number' | 'boolean' | 'enum' | 'string' | 'list' | 'json';
  /** Enum choices (and a list's, when its items are an enum). */
  choices?: readonly string[];
  /** The schema's default, when it has one. */
  defaultValue?: unknown;
  min?: number;
  max?: number;
}

/** Older hand-written flags kept working: alias -> generated flag. A test checks each target exists. */
export const FLAG_ALIASES: Readonly<Record<string, string>> = {
  strategy: 'strategy.name',
  'strategy-options': 'strategy.options',
  'min-battery': 'selection.min-battery',
  'require-charging': 'selection.require-charging',
  'exclude-connection': 'selection.exclude-connection-types',
};

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

/**
 * camelCase to kebab-case.
 * @example
 * ```ts
 * kebab('clientsPerRound') // 'clients-per-round'
 * ```
 */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  element?: z.ZodType;
}
const defOf = (t: z.ZodType): Def => (t as unknown as { def: Def }).def;

/** The schema inside optional/default/... wrappers, and the outermost default. */
function unwrap(t: z.ZodType): { inner: z.ZodType; defaultValue?: unknown } {
  let inner = t;
  let defaultValue: unknown;
  let found = false;
  while (WRAPPERS.has(defOf(inner).type)) {
    const d = defOf(inner);
    if (d.type === 'default' && !found) {
      defaultValue = d.defaultValue;
      found = true;
    }
    inner = d.innerType as z.ZodType;
  }
  return found ? { inner, defaultValue } : { inner };
}

/**
 * Walks an object schema into flags (nested objects become dotted flags).
 * @throws FedError BAD_CONFIG when a generated flag collides with one of `reserved`.
 * @example
 * ```ts
 * configFlags(SessionConfigSchema).find((f) => f.flag === 'clients-per-round'); // { kind: 'int', path: ['clientsPerRound'], min: 1, ... }
 * ```
 */
export function configFlags(schema: z.ZodObject, reserved: readonly string[] = [], prefix: string[] = []): ConfigFlag[] {
  const flags: ConfigFlag[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const path = [...prefix, key];
    const flag = path.map(kebab).join('.');
    if (reserved.includes(flag)) throw fedError('BAD_CONFIG', `the session config field '${path.join('.')}' collides with the CLI option --${flag}`);
    const { inner, defaultValue } = unwrap(field);
    const base = { flag, path, ...(defaultValue !== undefined ? { defaultValue } : {}) };
    const type = defOf(inner).type;
    if (type === 'object') {
      flags.push(...configFlags(inner as z.ZodObject, reserved, path));
    } else if (type === 'number') {
      const n = inner as z.ZodNumber;
      const bounds = { ...(Number.isFinite(n.minValue) ? { min: n.minValue as number } : {}), ...(Number.isFinite(n.maxValue) && (n.maxValue as number) < Number.MAX_SAFE_INTEGER ? { max: n.maxValue as number } : {}) };
      flags.push({ ...base, kind: n.isInt ? 'int' : 'number', ...bounds });
    } else if (type === 'boolean') {
      flags.push({ ...base, kind: 'boolean' });
    } else if (type === 'enum') {
      flags.push({ ...base, kind: 'enum', choices: (inner as z.ZodEnum).options as string[] });
    } else if (type === 'string') {
      flags.push({ ...base, kind: 'string' });
    } else if (type === 'array' && ['string', 'enum'].includes(defOf(unwrap(defOf(inner).element as z.ZodType).inner).type)) {
      const item = unwrap(defOf(inner).element as z.ZodType).inner;
      flags.push({ ...base, kind: 'list', ...(defOf(item).type === 'enum' ? { choices: (item as z.ZodEnum).options as string[] } : {}) });
    } else {
      flags.push({ ...base, kind: 'json' });
    }
  }
  return flags;
}

/**
 * The `parseArgs` options of the flags (and of their aliases).
 * @example
 * ```ts
 * parse(args, { ...flagOptions(flags), wait: { type: 'boolean' } }, true);
 * ```
 */
export function flagOptions(flags: readonly ConfigFlag[]): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const opts: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const f of flags) opts[f.flag] = f.kind === 'boolean' ? { type: 'boolean' } : f.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' };
  for (const [alias, target] of Object.entries(FLAG_ALIASES)) {
    const t = opts[target];
    if (t) opts[alias] = t;
  }
  return opts;
}

/** A flag's value as the schema wants it (numbers parsed, enums checked, JSON parsed). */
function valueOf(f: ConfigFlag, raw: unknown, shown: string): unknown {
  switch (f.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) throw fedError('BAD_CONFIG', `--${shown} must be ${f.kind === 'int' ? 'an integer' : 'a number'}, got '${String(raw)}'`);
      return n;
    }
    case 'enum':
      if (!f.choices?.includes(raw as string)) throw fedError('BAD_CONFIG', `--${shown} must be one of ${f.choices?.join(', ')}, got '${String(raw)}'`);
      return raw;
    case 'list': {
      const items = raw as string[];
      const bad = f.choices ? items.find((v) => !f.choices?.includes(v)) : undefined;
      if (bad !== undefined) throw fedError('BAD_CONFIG', `--${shown} must be one of ${f.choices?.join(', ')}, got '${bad}'`);
      return items;
    }
    case 'json':
      try {
        return JSON.parse(raw as string) as unknown;
      } catch (e) {
        throw fedError('BAD_CONFIG', `--${shown} must be JSON: ${(e as Error).message}`);
      }
    default:
      return raw;
  }
}

/**
 * Merges the given flags (and aliases) into `base` (e.g. a `--config` file's object): nested paths are set
 * inside their objects, so `--selection.min-battery` keeps the file's other `selection` fields.
 * @example
 * ```ts
 * configFromFlags(flags, { rounds: '3', 'strategy.name': 'fedadam' }); // { rounds: 3, strategy: { name: 'fedadam' } }
 * ```
 */
export function configFromFlags(flags: readonly ConfigFlag[], values: Record<string, unknown>, base: Record<string, unknown> = {}): Record<string, unknown> {
  const out = structuredClone(base);
  const byFlag = new Map(flags.map((f) => [f.flag, f]));
  const given: Array<[ConfigFlag, unknown, string]> = [];
  for (const [alias, target] of Object.entries(FLAG_ALIASES)) {
    const f = byFlag.get(target);
    if (f && values[alias] !== undefined) given.push([f, values[alias], alias]);
  }
  for (const f of flags) if (values[f.flag] !== undefined) given.push([f, values[f.flag], f.flag]);
  for (const [f, raw, shown] of given) {
    let node = out;
    for (const key of f.path.slice(0, -1)) {
      const next = node[key];
      node = (node[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    node[f.path.at(-1) as string] = valueOf(f, raw, shown);
  }
  return out;
}

/**
 * The help lines of the flags: `--flag <type>` with the range, choices and default.
 * @example
 * ```ts
 * flagHelp(configFlags(SessionConfigSchema)); // '  --rounds <int>  1..1000000 (default 5)\n...'
 * ```
 */
export function flagHelp(flags: readonly ConfigFlag[]): string {
  const left = (f: ConfigFlag): string =>
    `--${f.flag}${f.kind === 'boolean' ? '' : f.kind === 'list' ? ' <value>...' : ` <${f.kind === 'enum' ? 'choice' : f.kind}>`}`;
  const right = (f: ConfigFlag): string => {
    const parts: string[] = f.kind === 'list' ? ['repeatable;'] : [];
    if (f.choices) parts.push(f.choices.join(' | '));
    if (f.min !== undefined || f.max !== undefined) parts.push(`${f.min ?? ''}..${f.max ?? ''}`);
    if (f.defaultValue !== undefined && f.kind !== 'json') parts.push(`(default ${JSON.stringify(f.defaultValue)})`);
    const alias = Object.entries(FLAG_ALIASES).find(([, t]) => t === f.flag)?.[0];
    if (alias) parts.push(`(alias --${alias})`);
    return parts.join(' ');
  };
  const width = Math.max(...flags.map((f) => left(f).length)) + 2;
  return flags.map((f) => `  ${left(f).padEnd(width)}${right(f)}`.trimEnd()).join('\n');
}
