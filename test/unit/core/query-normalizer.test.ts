import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeQuery } from '../../../src/core/query-normalizer.js';

describe('normalizeQuery', () => {
  it.each([
    ["SELECT * FROM t WHERE a = 1 AND b = 'x''y'", 'SELECT * FROM t WHERE a = $1 AND b = $2'],
    ["SELECT E'it\\'s', e'\\\\', 'a\\' = 1", 'SELECT $1, $2, $3 = $4'],
    ["SELECT B'1010', X'1F', N'abc', U&'d\\0061t'", 'SELECT $1, $2, $3, $4'],
    ["SELECT $$a $b$ 'x'$$, $fn$ body $$ $fn$ FROM t", 'SELECT $1, $2 FROM t'],
    ['SELECT 1.5, .5, 1e10, 2.5E-3, 0x1F, 1_000 FROM t', 'SELECT $1, $2, $3, $4, $5, $6 FROM t'],
    [
      'SELECT -1, a - 1, a-1, a - -2, x=-3, (-4), f(- 5)',
      'SELECT $1, a - $2, a-$3, a - $4, x=$5, ($6), f($7)',
    ],
    [
      'SELECT TRUE, false, NULL, t1.c2 FROM "Weird ""Name"" 1"',
      'SELECT TRUE, false, NULL, t1.c2 FROM "Weird ""Name"" 1"',
    ],
    ['SELECT $3, 7, $1, $3', 'SELECT $1, $2, $3, $1'],
    ['select  a,\n\tb -- trailing\nfrom /* a /* nested */ comment */ t', 'select a, b from t'],
    ['SELECT a/**/FROM t', 'SELECT a FROM t'],
    ["SELECT date '2024-01-01', '1 day'::interval", 'SELECT date $1, $2::interval'],
    ["SELECT abc'x'", 'SELECT abc $1'],
  ])('%s', (input, expected) => {
    expect(normalizeQuery(input)).toBe(expected);
  });

  it('squashes constant lists in IN (…) and ARRAY[…] to PostgreSQL 18 form', () => {
    expect(normalizeQuery('SELECT * FROM t WHERE id IN (1, 2, 3) AND k NOT IN ($4, $5)')).toBe(
      'SELECT * FROM t WHERE id IN ($1 /*, ... */) AND k NOT IN ($2 /*, ... */)',
    );
    expect(normalizeQuery('SELECT * FROM t WHERE id IN (1,2)')).toBe(
      normalizeQuery('SELECT * FROM t WHERE id in (7, 8, -9, 10)').replace('in', 'IN'),
    );
    expect(normalizeQuery('SELECT ARRAY[1, 2, 3]')).toBe('SELECT ARRAY[$1 /*, ... */]');
    // One constant, or anything not a constant, stays a list.
    expect(normalizeQuery('SELECT * FROM t WHERE id IN (1)')).toBe('SELECT * FROM t WHERE id IN ($1)');
    expect(normalizeQuery('SELECT * FROM t WHERE id IN (1, a)')).toBe('SELECT * FROM t WHERE id IN ($1, a)');
    expect(normalizeQuery('SELECT * FROM t WHERE id IN (SELECT 1)')).toBe(
      'SELECT * FROM t WHERE id IN (SELECT $1)',
    );
  });

  it('never throws on unterminated strings, identifiers, comments and dollar quotes', () => {
    expect(normalizeQuery("SELECT 'abc")).toBe('SELECT $1');
    expect(normalizeQuery('SELECT $$abc')).toBe('SELECT $1');
    expect(normalizeQuery("SELECT E'abc\\")).toBe('SELECT $1');
    expect(normalizeQuery('SELECT 1 /* never closed')).toBe('SELECT $1');
    expect(normalizeQuery('SELECT "never closed  1')).toBe('SELECT "never closed  1');
    expect(normalizeQuery('')).toBe('');
    expect(normalizeQuery('$ $a $1a')).toBe('$ $a $1 a');
  });

  it('caps very long input and output, ending in …', () => {
    const long = `SELECT ${Array.from({ length: 20_000 }, (_, i) => `c${i}`).join(', ')} FROM t`;
    const out = normalizeQuery(long, { maxLength: 100 });
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.startsWith('SELECT c0, c1,')).toBe(true);
    expect(out.endsWith(' …')).toBe(true);
    expect(normalizeQuery(out, { maxLength: 100 })).toBe(out);
    const cut = normalizeQuery(`SELECT 1 ${' '.repeat(70_000)} , 2`);
    expect(cut).toBe('SELECT $1 …');
  });

  it('stays linear on pathological input', () => {
    const nasty = '/*'.repeat(20_000) + "'".repeat(20_000) + '$$'.repeat(10_000) + '-'.repeat(10_000);
    const started = performance.now();
    normalizeQuery(nasty, { maxInputChars: 100_000 });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

// Fragments with no digits of their own, so every digit in the output must come from a `$n`.
const identifier = fc.constantFrom(
  'a',
  'tbl',
  'users',
  'x_y',
  '"Quoted Name"',
  'TRUE',
  'NULL',
  'in',
  'ARRAY',
);
const literal = fc.oneof(
  fc.integer({ min: 0, max: 10_000_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }).map((d) => String(d)),
  fc.string({ maxLength: 8 }).map((s) => `'${s.replaceAll("'", "''")}'`),
  fc.string({ maxLength: 8 }).map((s) => `E'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`),
  fc
    .string({ maxLength: 8 })
    .filter((s) => !s.includes('$q$'))
    .map((s) => `$q$${s}$q$`),
  fc.integer({ min: 1, max: 30 }).map((n) => `$${n}`),
);
const fragment = fc.oneof(
  identifier,
  literal,
  fc.constantFrom(
    'SELECT',
    'FROM',
    'WHERE',
    '=',
    '-',
    '+',
    '(',
    ')',
    ',',
    '[',
    ']',
    '::',
    ';',
    '.',
    '<>',
    'IN (',
    'ARRAY[',
  ),
  fc.constantFrom(' ', '\n', '\t', '  ', '-- comment\n', '/* c */', '/* /* nested */ */'),
);
const sqlish = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(' '));
// Broken pieces (unterminated quotes, lone `$`) for the properties that must hold on any input.
const broken = fc.constantFrom(
  '$',
  "$'",
  '$$',
  '$q',
  'E',
  'U&',
  '"',
  "'",
  '/*',
  '*/',
  '--',
  '1..2',
  '.5',
  '0x',
  '1e',
);
const anyFragment = fc.oneof(fragment, broken);
const anyText = fc.oneof(
  sqlish,
  fc.string({ maxLength: 200 }),
  fc.array(anyFragment, { maxLength: 40 }).map((p) => p.join('')),
  fc.array(anyFragment, { maxLength: 40 }).map((p) => p.join(' ')),
);

describe('normalizeQuery properties', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (sql) => {
        const once = normalizeQuery(sql);
        expect(normalizeQuery(once)).toBe(once);
      }),
      { numRuns: 400 },
    );
  });

  it('is idempotent under a small cap', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 2, max: 60 }), (sql, maxLength) => {
        const once = normalizeQuery(sql, { maxLength });
        expect(once.length).toBeLessThanOrEqual(maxLength);
        expect(normalizeQuery(once, { maxLength })).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no numeric literal: every digit belongs to a $n', () => {
    fc.assert(
      fc.property(sqlish, (sql) => {
        expect(
          normalizeQuery(sql)
            .replaceAll(/\$\d+/g, '')
            .replaceAll(/"[^"]*"/g, ''),
        ).not.toMatch(/\d/);
      }),
      { numRuns: 400 },
    );
  });

  it('numbers parameters densely from $1 in order of first appearance', () => {
    fc.assert(
      fc.property(sqlish, (sql) => {
        const seen = [...normalizeQuery(sql).matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
        let highest = 0;
        for (const n of seen) {
          expect(n).toBeLessThanOrEqual(highest + 1);
          highest = Math.max(highest, n);
        }
      }),
      { numRuns: 200 },
    );
  });
});
