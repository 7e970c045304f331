import { describe, expect, it } from 'vitest';
import { toSession, type SessionRow } from '../../../../src/agent/targets/postgres/sample-statement.js';
import { normalizeQuery } from '../../../../src/core/query-normalizer.js';

const row = (query: string | null): SessionRow => ({
  pid: 42,
  state: 'active',
  backend_type: 'client backend',
  usename: 'shop',
  datname: 'shop',
  application_name: 'shop',
  client: '10.0.0.1',
  backend_start: 1,
  xact_start: 2,
  query_start: 3,
  state_change: 3,
  wait_event_type: null,
  wait_event: null,
  query,
  server_ms: 0.1,
});

describe('toSession: the app’s sqlcommenter tags in pg_stat_activity.query', () => {
  it('reads tags written first or last, and normalizes the query without them', () => {
    const first = toSession(
      row(
        "/*callsite='demo%2Fshop%2Fcheckout.ts%3A88',release='v2',route='POST%20%2Fcheckout',service='shop'*/ UPDATE inventory SET stock = stock - 1 WHERE product_id = 7",
      ),
      (sql) => normalizeQuery(sql),
    );
    expect(first.query).toBe('UPDATE inventory SET stock = stock - $1 WHERE product_id = $2');
    expect(first.tags).toEqual({
      callsite: 'demo/shop/checkout.ts:88',
      release: 'v2',
      route: 'POST /checkout',
      service: 'shop',
    });
    const last = toSession(
      row("SELECT * FROM orders WHERE id = 3 /*route='GET%20%2Forders%2F%3Aid'*/"),
      (sql) => sql,
    );
    expect(last).toMatchObject({
      query: 'SELECT * FROM orders WHERE id = 3',
      tags: { route: 'GET /orders/:id' },
    });
  });

  it('a query cut inside its tags (track_activity_query_size) has no tags and shows no half comment', () => {
    const whollyComment = toSession(row("/*callsite='demo%2Fshop%2Fvery-long"), (sql) => sql);
    expect(whollyComment.query).toBeNull();
    expect(whollyComment).not.toHaveProperty('tags');
    const cutLast = toSession(row("UPDATE t SET a = 1 /*callsite='demo%2Fsh"), (sql) => sql);
    expect(cutLast.query).toBe('UPDATE t SET a = 1');
    expect(cutLast).not.toHaveProperty('tags');
  });

  it('untagged queries and background processes are as before', () => {
    expect(toSession(row('/* pg_dump */ COPY t TO stdout'), (sql) => sql)).not.toHaveProperty('tags');
    expect(toSession(row('/* pg_dump */ COPY t TO stdout'), (sql) => sql).query).toBe(
      '/* pg_dump */ COPY t TO stdout',
    );
    expect(toSession(row(''), (sql) => sql).query).toBeNull();
    expect(toSession(row(null), (sql) => sql).query).toBeNull();
  });
});
