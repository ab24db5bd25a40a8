/**
 * Bounds on untrusted structured input, shared by every tier: how deep JSON may nest (checked on the raw text,
 * before `JSON.parse`, so a body nested 100 000 levels deep is a typed refusal instead of a stack overflow later in
 * a schema walk or `JSON.stringify`), and how many keys a free-form map (`metrics`, `extra`, strategy options) may
 * hold and how long those keys may be.
 */
import { z } from 'zod';

/** Deepest nesting of arrays/objects accepted in a JSON body or message (a session config needs about 4). */
export const MAX_JSON_DEPTH = 64;
/** Most keys in one free-form map (`metrics`, `extra`, `settings`, strategy options, selection). */
export const MAX_MAP_KEYS = 128;
/** Longest key in such a map. */
export const MAX_MAP_KEY_LENGTH = 64;

/**
 * The nesting depth of JSON text, scanning no further than needed: returns `maxDepth + 1` as soon as the text
 * nests deeper than `maxDepth` (strings, escapes included, are skipped; the text need not be valid JSON).
 * @example
 * ```ts
 * jsonDepth('{"a":[1,[2]]}') // 3
 * jsonDepth('['.repeat(1e5), 64) // 65
 * ```
 */
export function jsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > maxDepth) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * The nesting depth of a parsed value (iterative: no recursion, whatever the input), capped at `maxDepth + 1`.
 * @example
 * ```ts
 * valueDepth({ a: [1, { b: 2 }] }) // 3
 * ```
 */
export function valueDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const depth = d + 1;
    if (depth > max) {
      max = depth;
      if (max > maxDepth) return max;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth]);
  }
  return max;
}

/**
 * A string-keyed map schema with at most `maxKeys` keys of at most `maxKeyLength` characters; values of unknown
 * shape are also held to {@link MAX_JSON_DEPTH}.
 * @example
 * ```ts
 * const Metrics = boundedRecord(z.number().finite());
 * Metrics.parse(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]))); // throws: 1000 keys
 * ```
 */
export function boundedRecord<V extends z.ZodType>(value: V, opts: { maxKeys?: number; maxKeyLength?: number } = {}) {
  const maxKeys = opts.maxKeys ?? MAX_MAP_KEYS;
  const maxKeyLength = opts.maxKeyLength ?? MAX_MAP_KEY_LENGTH;
  return z
    .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object')
    .superRefine((v, ctx) => {
      const n = Object.keys(v).length;
      if (n > maxKeys) return ctx.addIssue({ code: 'custom', message: `${n} keys, at most ${maxKeys} allowed` });
      if (valueDepth(v, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) ctx.addIssue({ code: 'custom', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
    })
    .pipe(z.record(z.string().max(maxKeyLength, `keys have at most ${maxKeyLength} characters`), value))
    // The key bound, for the JSON Schema of the protocol reference (the custom check itself has no JSON form).
    .meta({ maxProperties: maxKeys });
}

/** A SHA-256 on the wire: 64 lowercase hex digits (the one schema for it; see `sha256Hex` in hash.ts). */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
/** A count on the wire: a non-negative integer. */
export const CountSchema = z.number().int().nonnegative();
