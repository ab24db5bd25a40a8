import { describe, expect, it } from 'vitest';
import { show, table, when } from './output.js';
import { barLine, progressBar } from './progress.js';

describe('CLI output', () => {
  it('aligns table columns under their headers (numbers to the right), with - for missing values', () => {
    const rows = [
      { id: 's1', rounds: 3, note: null },
      { id: 'session-two', rounds: 12, note: { k: 1 } },
    ];
    const text = table(rows, [
      { header: 'ID', value: (r) => r.id },
      { header: 'ROUNDS', value: (r) => r.rounds, right: true },
      { header: 'NOTE', value: (r) => r.note },
    ]);
    expect(text.split('\n')).toEqual(['ID           ROUNDS  NOTE', 's1                3  -', 'session-two      12  {"k":1}']);
    expect(table([], [{ header: 'ID', value: () => 'x' }])).toBe('(none)');
    expect(when(Date.UTC(2026, 11, 3, 8, 5, 9))).toBe('2026-12-03 08:05:09');
  });

  it('--json prints the answer itself, parseable; without it the table', () => {
    const lines: string[] = [];
    const out = { line: (t: string) => void lines.push(t) };
    show(out, true, { sessions: [{ id: 's1' }] }, () => 'TABLE');
    show(out, false, { sessions: [] }, () => 'TABLE');
    expect(JSON.parse(lines[0]!)).toEqual({ sessions: [{ id: 's1' }] });
    expect(lines[1]).toBe('TABLE');
  });

  it('draws a progress bar only on a terminal, throttled, ending at 100%', () => {
    expect(barLine('get', 50, 100, 10)).toBe('get [#####.....]  50% 50 B / 100 B');
    expect(barLine('get', 2048, null)).toBe('get 2.05 kB');
    expect(progressBar({ line: () => undefined, progress: { isTTY: false, write: () => true } }, 'x')).toBeUndefined();
    const written: string[] = [];
    let t = 0;
    const bar = progressBar({ line: () => undefined, progress: { isTTY: true, write: (s: string) => written.push(s) > 0 } }, 'model', () => t);
    bar?.update(0, 1000);
    t = 10;
    bar?.update(500, 1000); // within 100 ms of the last draw: not drawn
    t = 20;
    bar?.update(1000, 1000); // the last step is always drawn
    bar?.done();
    expect(written.filter((w) => w.startsWith('\r')).map((w) => /(\d+)%/.exec(w)?.[1])).toEqual(['0', '100', '100']);
    expect(written.at(-1)).toBe('\n');
  });
});
