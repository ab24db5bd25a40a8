/**
 * How read commands print: `--json` (the API's answer, indented) or an aligned table with a header row.
 * Everything goes through an {@link Out} so tests capture it.
 */

/** Where a command writes: lines to stdout, progress to stderr (a TTY or not). */
export interface Out {
  line(text: string): void;
  /** Progress output (a bar on a TTY); may be a no-op. */
  progress?: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): boolean };
}

/** The process's stdout/stderr. */
export const STDOUT: Out = { line: (t) => console.log(t), progress: process.stderr };

/** A column of a table: its header and how a row shows in it. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/**
 * A cell's text: `-` for null/undefined, ISO-ish times for epoch ms under keys named `*At`, JSON for objects.
 * @example
 * ```ts
 * cell(null) // '-'
 * cell({ loss: 0.5 }) // '{"loss":0.5}'
 * ```
 */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * Epoch ms as `YYYY-MM-DD HH:MM:SS` (UTC), `-` when absent.
 * @example
 * ```ts
 * when(0) // '1970-01-01 00:00:00'
 * ```
 */
export function when(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '-';
}

/**
 * Rows as an aligned text table (two spaces between columns, a header line), or `(none)` when empty.
 * @example
 * ```ts
 * table([{ id: 's1', rounds: 3 }], [{ header: 'ID', value: (r) => r.id }, { header: 'ROUNDS', value: (r) => r.rounds, right: true }]);
 * // 'ID  ROUNDS\ns1       3'
 * ```
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r)).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const fmt = (row: string[]): string =>
    row
      .map((t, i) => (columns[i]!.right ? t.padStart(widths[i]!) : t.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(columns.map((c) => c.header)), ...cells.map(fmt)].join('\n');
}

/**
 * Prints a read command's answer: the JSON itself with `--json`, else the table `render` makes of it.
 * @example
 * ```ts
 * show(out, values.json, { sessions }, () => table(sessions, SESSION_COLUMNS));
 * ```
 */
export function show(out: Out, json: boolean | undefined, value: unknown, render: () => string): void {
  out.line(json ? JSON.stringify(value, null, 2) : render());
}
