import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeQuery } from '../../../src/core/query-normalizer.js';
import { QueryFingerprints, shapeKey } from '../../../src/analyze/query-fingerprints.js';
import { formatSqlTags, prependSqlTags } from '../../../src/core/sql-comment-tags.js';

// Pieces of SQL where digits mean different things: bare literals, names, parameters, decimals,
// hex and exponents, strings, quoted identifiers, comments, dollar quotes, non-ASCII names.
const piece = fc.constantFrom(
  'SELECT',
  'UPDATE t SET v =',
  'WHERE id =',
  'IN (',
  ')',
  ',',
  ' ',
  '-',
  '+',
  '=',
  '(',
  'x',
  't1',
  'col2',
  '$1',
  '$2',
  '$ ',
  '1',
  '42',
  '007',
  '0',
  '1.5',
  '.5',
  '1e5',
  '0x1F',
  '1_000',
  '1..10',
  "'a1'",
  "E'\\12'",
  '"t 1"',
  '"2"',
  '/* 3 */',
  '-- 4\n',
  '$$5$$',
  '$q$ 6 $q$',
  'é1',
  '::int4',
  'ARRAY[',
  ']',
  'LIMIT',
  ';',
);
const sql = fc.array(piece, { maxLength: 14 }).map((pieces) => pieces.join(' '));

describe('shapeKey', () => {
  it('gives one key only to statements that normalize alike', () => {
    fc.assert(
      fc.property(
        sql,
        fc.array(fc.integer({ min: 0, max: 999_999 }), { minLength: 1, maxLength: 20 }),
        (a, values) => {
          // b: every digit run of a replaced by another number (where the key keeps it, keys differ).
          let k = 0;
          const b = a.replace(/\d+/g, () => String(values[k++ % values.length]));
          if (shapeKey(a) === shapeKey(b))
            expect(normalizeQuery(b, { maxLength: 2_000 })).toBe(normalizeQuery(a, { maxLength: 2_000 }));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('lets statements with literals inline share one key', () => {
    expect(shapeKey('UPDATE pgbench_accounts SET abalance = abalance + -4321 WHERE aid = 123456;')).toBe(
      shapeKey('UPDATE pgbench_accounts SET abalance = abalance + -17 WHERE aid = 9;'),
    );
    expect(shapeKey('SELECT * FROM t1 WHERE c = 5')).not.toBe(shapeKey('SELECT * FROM t2 WHERE c = 5'));
    expect(shapeKey('SELECT "col 1" FROM t')).not.toBe(shapeKey('SELECT "col 2" FROM t'));
  });
});

describe('QueryFingerprints', () => {
  it('returns what normalizeQuery returns, from the cache or not', () => {
    const fingerprints = new QueryFingerprints();
    fc.assert(
      fc.property(sql, (statement) => {
        expect(fingerprints.of(statement)).toBe(normalizeQuery(statement, { maxLength: 2_000 }));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('sqlcommenter tags', () => {
  it('do not split a fingerprint: tags first, last, cut short or absent give one', () => {
    const fingerprints = new QueryFingerprints();
    const tags = {
      callsite: 'demo/shop/checkout.ts:88',
      release: 'v2',
      route: 'POST /checkout',
      service: 'shop',
    };
    const other = { callsite: 'demo/shop/restock.ts:20', job: 'restock' };
    const plain = 'UPDATE inventory SET stock = stock - 1 WHERE product_id = 7';
    const variants = [
      plain,
      prependSqlTags(plain, tags),
      prependSqlTags(plain, other),
      `${plain} ${formatSqlTags(tags)}`,
      `${plain} ${formatSqlTags(other)}`,
      `${plain} ${formatSqlTags(tags).slice(0, 30)}`,
    ];
    // Written last before the statement's `;`, as sqlcommenter libraries do.
    const ended = [`${plain};`, `${plain} ${formatSqlTags(tags)};`, `${prependSqlTags(plain, other)} ;`];
    expect(new Set(ended.map((v) => fingerprints.of(v)))).toEqual(
      new Set(['UPDATE inventory SET stock = stock - $1 WHERE product_id = $2;']),
    );
    const seen = new Set(variants.map((v) => fingerprints.of(v)));
    expect([...seen]).toEqual(['UPDATE inventory SET stock = stock - $1 WHERE product_id = $2']);
    expect(new Set(variants.map((v) => normalizeQuery(v))).size).toBe(1);
  });
});
