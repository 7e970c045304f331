import { describe, expect, it } from 'vitest';
import { formatTable, resultLines } from '../../../src/race/isolation-output.js';
import { durationMs } from '../../../src/race/schedule-engine.js';

// The isolation tester prints rows with libpq's PQprint (fe-print.c): these are its rules.
describe('formatTable (PQprint with header, align and "|")', () => {
  it('right-aligns a numeric column and its header, left-aligns text, pads to the widest value', () => {
    expect(formatTable(['i', 'name'], [['42', 'ab']])).toEqual([
      ' i|name',
      '--+----',
      '42|ab  ',
      '(1 row)',
      '',
    ]);
  });

  it('numeric means digits, ".", "E", "e", "-" and space, not starting with E and ending in a digit', () => {
    const kind = (v: string): string =>
      (formatTable(['x'], [[v]])[0] ?? '').startsWith(' ') ? 'num' : 'text';
    // A header of one letter against a value of three shows the alignment.
    expect(['1.5', '-12', '1e5', '1 2'].map(kind)).toEqual(['num', 'num', 'num', 'num']);
    expect(['E12', '12-', 'a12', '+12', '1.'].map(kind)).toEqual(['text', 'text', 'text', 'text', 'text']);
  });

  it('empty values (NULL) do not decide the column; widths count bytes, as printf does', () => {
    expect(formatTable(['n'], [[''], ['7']])).toEqual(['n', '-', ' ', '7', '(2 rows)', '']);
    expect(formatTable(['w'], [['é']])).toEqual(['w ', '--', 'é', '(1 row)', '']);
  });

  it('a step prints every result it returned, then its error; a FATAL adds libpq’s closed-connection lines', () => {
    const lines = resultLines({
      ok: false,
      rows: [],
      rowCount: null,
      command: null,
      severity: 'FATAL',
      message: 'terminating connection due to administrator command',
      results: [{ fields: ['a'], rows: [['1']] }],
    });
    expect(lines).toEqual([
      'a',
      '-',
      '1',
      '(1 row)',
      '',
      'FATAL:  terminating connection due to administrator command',
      'server closed the connection unexpectedly',
      '\tThis probably means the server terminated abnormally',
      '\tbefore or while processing the request.',
      '',
    ]);
  });
});

describe('durationMs (a time setting as SHOW prints it)', () => {
  it('reads the units PostgreSQL prints', () => {
    expect(['10ms', '1s', '100s', '2min', '1h', '0', '500us'].map(durationMs)).toEqual([
      10, 1000, 100_000, 120_000, 3_600_000, 0, 0.5,
    ]);
    expect(durationMs('soon')).toBeUndefined();
  });
});
