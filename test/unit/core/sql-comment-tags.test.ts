import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSqlTags, parseSqlTags, prependSqlTags } from '../../../src/core/sql-comment-tags.js';

describe('sqlcommenter tags', () => {
  it('writes keys sorted, values URL-encoded, first in the statement', () => {
    const sql = prependSqlTags('UPDATE inventory SET stock = stock - 1', {
      service: 'shop',
      route: 'POST /checkout',
      callsite: 'demo/shop/checkout.ts:88',
      release: "v2 'beta'",
    });
    expect(sql).toBe(
      "/*callsite='demo%2Fshop%2Fcheckout.ts%3A88',release='v2%20\\'beta\\'',route='POST%20%2Fcheckout',service='shop'*/ UPDATE inventory SET stock = stock - 1",
    );
  });

  it('reads tags back from the start or the end, leaving the statement', () => {
    const tags = { route: 'POST /checkout', callsite: 'checkout.ts:88' };
    const lead = parseSqlTags(prependSqlTags('SELECT 1', tags));
    expect(lead).toEqual({ tags, sql: 'SELECT 1' });
    const trail = parseSqlTags(`SELECT 1 ${formatSqlTags(tags)};`);
    expect(trail).toEqual({ tags, sql: 'SELECT 1' });
  });

  it('ignores comments that are not tags, and keys it does not know', () => {
    expect(parseSqlTags('/* hello */ SELECT 1')).toEqual({ tags: {}, sql: '/* hello */ SELECT 1' });
    expect(parseSqlTags("/*framework='express',route='%2Fa'*/ SELECT 1")).toEqual({
      tags: { route: '/a' },
      sql: 'SELECT 1',
    });
    expect(parseSqlTags("/*route='%E0%A4%A'*/ SELECT 1").tags).toEqual({});
  });

  it('drops a tags comment PostgreSQL cut short (track_activity_query_size), first or last, and reads no tags from it', () => {
    expect(parseSqlTags("/*callsite='demo%2Fshop%2Fche")).toEqual({ tags: {}, sql: '' });
    expect(parseSqlTags("UPDATE t SET a = $1 /*callsite='demo%2Fsh")).toEqual({
      tags: {},
      sql: 'UPDATE t SET a = $1',
    });
    expect(parseSqlTags("UPDATE t SET a = $1 /*route='x',callsite='a\\")).toEqual({
      tags: {},
      sql: 'UPDATE t SET a = $1',
    });
    expect(parseSqlTags("UPDATE t SET a = $1 /*route='x'*")).toEqual({
      tags: {},
      sql: 'UPDATE t SET a = $1',
    });
    expect(parseSqlTags('UPDATE t SET a = $1 /*')).toEqual({ tags: {}, sql: 'UPDATE t SET a = $1' });
    // Tags first, the statement's own end cut: the tags still count.
    expect(parseSqlTags("/*route='POST%20%2Fcheckout'*/ UPDATE t SET a = $1 /*x='")).toEqual({
      tags: { route: 'POST /checkout' },
      sql: 'UPDATE t SET a = $1',
    });
    // Not a cut tags comment: left as it is.
    expect(parseSqlTags("SELECT '/*x'")).toEqual({ tags: {}, sql: "SELECT '/*x'" });
    expect(parseSqlTags('SELECT 1 /* note */')).toEqual({ tags: {}, sql: 'SELECT 1 /* note */' });
  });

  it('reads long or hostile text in linear time', () => {
    const started = performance.now();
    for (const sql of [
      `SELECT 1${' '.repeat(200_000)}x /*`,
      `/*${' '.repeat(200_000)}`,
      '/*'.repeat(100_000),
      `/*${"a='b',".repeat(50_000)}x'`,
      `SELECT 1 ${'/* a */ '.repeat(50_000)}`,
    ])
      parseSqlTags(sql);
    // The regexes these replaced took seconds on 50 000 spaces.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('round-trips any text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (route, callsite) => {
        const tags = { ...(route === '' ? {} : { route }), ...(callsite === '' ? {} : { callsite }) };
        const back = parseSqlTags(prependSqlTags('SELECT 1', tags));
        expect(back.tags).toEqual(tags);
        expect(back.sql).toBe('SELECT 1');
      }),
    );
  });
});
