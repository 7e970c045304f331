import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSqlTags, parseSqlTags, prependSqlTags } from '../../../src/core/sql-comment-tags.js';

describe('sqlcommenter tags', () => {
  it('writes keys sorted, values URL-encoded, first in the statement', () => {
    const sql = prependSqlTags('UPDATE inventory SET stock = stock - 1', {
      service: 'shop',
      route: 'POST /checkout',
      callsite: "demo/shop/checkout.ts:88",
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
    expect(parseSqlTags("/*framework='express',route='%2Fa'*/ SELECT 1")).toEqual({ tags: { route: '/a' }, sql: 'SELECT 1' });
    expect(parseSqlTags("/*route='%E0%A4%A'*/ SELECT 1").tags).toEqual({});
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
