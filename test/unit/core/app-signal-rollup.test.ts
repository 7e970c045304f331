import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_ROLLUP_CAUSES,
  MAX_ROLLUP_SAMPLES,
  MAX_ROLLUP_USERS,
  type AppEvent,
  type QueryFailure,
  type RequestOutcome,
  type RouteRollup,
} from '../../../src/core/app-signal.js';
import {
  eventRollup,
  foldEvents,
  mergeCauses,
  mergeRollupList,
  mergeRollups,
} from '../../../src/core/app-signal-rollup.js';

const request = (over: Partial<RequestOutcome> = {}): RequestOutcome => ({
  kind: 'request',
  service: 'shop',
  at: 1_764_527_000_123,
  method: 'POST',
  route: '/checkout',
  status: 200,
  durationMs: 10,
  user: 'u1',
  errorClass: null,
  release: 'v2',
  sqlFailures: [],
  ...over,
});

const deadlocked = (over: Partial<RequestOutcome> = {}): RequestOutcome =>
  request({
    status: 500,
    errorClass: 'DatabaseError',
    sqlFailures: [
      {
        sqlstate: '40P01',
        query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
        callSite: 'shop/checkout.ts:88',
      },
    ],
    ...over,
  });

const jobFailure = (over: Partial<QueryFailure> = {}): QueryFailure => ({
  kind: 'query_failure',
  service: 'shop',
  at: 1_764_527_000_456,
  job: 'restock',
  release: 'v2',
  failure: { sqlstate: '40P01', query: 'UPDATE products SET n = n + $1', callSite: 'shop/restock.ts:20' },
  ...over,
});

describe('foldEvents', () => {
  it('rolls requests up per service, method, route and 10 s bucket', () => {
    const rollups = foldEvents([
      request({ at: 1_764_527_000_100, user: 'u1', durationMs: 10 }),
      deadlocked({ at: 1_764_527_009_999, user: 'u2', durationMs: 30 }),
      request({ at: 1_764_527_010_000, user: 'u3' }),
      request({ route: '/cart', method: 'GET', at: 1_764_527_000_500, user: null, release: null }),
    ]);
    expect(rollups.map((r) => [r.bucket, r.method, r.route, r.requests, r.failures])).toEqual([
      [1_764_527_000_000, 'GET', '/cart', 1, 0],
      [1_764_527_000_000, 'POST', '/checkout', 2, 1],
      [1_764_527_010_000, 'POST', '/checkout', 1, 0],
    ]);
    const checkout = rollups[1];
    expect(checkout).toMatchObject({
      durationMsSum: 40,
      durationMsMax: 30,
      users: ['u1', 'u2'],
      failedUsers: ['u2'],
      usersTruncated: false,
      releases: ['v2'],
      causes: [
        {
          sqlstate: '40P01',
          callSite: 'shop/checkout.ts:88',
          query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
          errorClass: 'DatabaseError',
          count: 1,
        },
      ],
    });
    expect(checkout?.samples).toEqual([
      {
        at: 1_764_527_009_999,
        status: 500,
        durationMs: 30,
        user: 'u2',
        errorClass: 'DatabaseError',
        release: 'v2',
        sqlFailures: deadlocked().sqlFailures,
      },
    ]);
    expect(rollups[0]).toMatchObject({ users: [], releases: [], causes: [], samples: [] });
  });

  it('counts a 4xx as served, and a thrown error under a 2xx as failed (its class as the cause)', () => {
    const [r] = foldEvents([request({ status: 404 }), request({ status: 200, errorClass: 'TypeError' })]);
    expect(r).toMatchObject({
      requests: 2,
      failures: 1,
      causes: [{ sqlstate: null, callSite: null, query: null, errorClass: 'TypeError', count: 1 }],
    });
  });

  it('keeps query failures outside requests under method JOB, route = the job or (none)', () => {
    const rollups = foldEvents([
      jobFailure(),
      jobFailure({ job: null }),
      jobFailure({ at: 1_764_527_001_000 }),
    ]);
    expect(rollups.map((r) => [r.method, r.route, r.requests, r.failures, r.causes[0]?.count])).toEqual([
      ['JOB', '(none)', 1, 1, 1],
      ['JOB', 'restock', 2, 2, 2],
    ]);
    expect(rollups[1]?.causes[0]).toMatchObject({
      sqlstate: '40P01',
      callSite: 'shop/restock.ts:20',
      errorClass: null,
    });
    expect(rollups[1]?.samples[0]?.sqlFailures).toEqual([jobFailure().failure]);
  });

  it('keeps the first samples by time, and bounds users and causes', () => {
    const many: AppEvent[] = Array.from({ length: MAX_ROLLUP_USERS + 5 }, (_, i) =>
      deadlocked({
        at: 1_764_527_009_000 - (i % 5_000),
        user: `user-${String(i).padStart(6, '0')}`,
        sqlFailures: [{ sqlstate: '40P01', query: 'q', callSite: `f.ts:${i % 30}` }],
      }),
    );
    const [r] = foldEvents(many);
    expect(r?.requests).toBe(MAX_ROLLUP_USERS + 5);
    expect(r?.users).toHaveLength(MAX_ROLLUP_USERS);
    expect(r?.users[0]).toBe('user-000000');
    expect(r?.usersTruncated).toBe(true);
    expect(r?.causes).toHaveLength(MAX_ROLLUP_CAUSES);
    expect(r?.causes.reduce((sum, c) => sum + c.count, 0)).toBe(MAX_ROLLUP_USERS + 5);
    const t = 1_764_527_009_000 - 4_999;
    expect(r?.samples.map((s) => s.at)).toEqual([t, t, t + 1, t + 1, t + 2]);
    expect(r?.samples.map((s) => s.user)).toEqual([
      'user-004999',
      'user-009999',
      'user-004998',
      'user-009998',
      'user-004997',
    ]);
  });
});

describe('mergeCauses', () => {
  const cause = (callSite: string | null, count: number) => ({
    sqlstate: callSite === null ? null : '40P01',
    callSite,
    query: null,
    errorClass: null,
    count,
  });

  it('adds counts of the same cause and ranks largest first', () => {
    expect(mergeCauses([cause('a.ts:1', 2), cause('b.ts:2', 5), cause('a.ts:1', 4)])).toEqual([
      cause('a.ts:1', 6),
      cause('b.ts:2', 5),
    ]);
  });

  it('folds all but the top MAX-1 into the null cause once past the bound', () => {
    const causes = Array.from({ length: MAX_ROLLUP_CAUSES + 3 }, (_, i) =>
      cause(`f.ts:${String(i).padStart(2, '0')}`, 100 - i),
    );
    const merged = mergeCauses([...causes, cause(null, 1)]);
    expect(merged).toHaveLength(MAX_ROLLUP_CAUSES);
    expect(merged.filter((c) => c.callSite !== null).map((c) => c.callSite)).toEqual(
      causes.slice(0, MAX_ROLLUP_CAUSES - 1).map((c) => c.callSite),
    );
    const rest = causes.slice(MAX_ROLLUP_CAUSES - 1).reduce((sum, c) => sum + c.count, 1);
    expect(merged.find((c) => c.callSite === null)).toEqual(cause(null, rest));
  });
});

describe('mergeRollups (properties)', () => {
  const event: fc.Arbitrary<AppEvent> = fc.oneof(
    fc
      .record({
        at: fc.integer({ min: 0, max: 9_999 }),
        status: fc.constantFrom(200, 201, 404, 500, 503),
        durationMs: fc.integer({ min: 0, max: 5_000 }),
        user: fc.option(fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6')),
        errorClass: fc.option(fc.constantFrom('DatabaseError', 'TypeError')),
        release: fc.option(fc.constantFrom('v1', 'v2')),
        sqlstate: fc.option(fc.constantFrom('40P01', '55P03', '23505')),
        callSite: fc.constantFrom('a.ts:1', 'b.ts:2', 'c.ts:3'),
      })
      .map(({ sqlstate, callSite, ...r }) =>
        request({
          ...r,
          sqlFailures: sqlstate === null ? [] : [{ sqlstate, query: 'UPDATE t SET n = $1', callSite }],
        }),
      ),
    fc
      .record({ at: fc.integer({ min: 0, max: 9_999 }), release: fc.option(fc.constantFrom('v1', 'v2')) })
      .map((r) => jobFailure({ ...r, job: 'restock' })),
  );
  /** A rollup of the POST /checkout key in bucket 0, built by folding events (so it is well formed). */
  const rollup: fc.Arbitrary<RouteRollup> = fc.array(event, { minLength: 1, maxLength: 30 }).map((events) => {
    const checkout = events.map((e) => (e.kind === 'request' ? e : request({ at: e.at })));
    const [r] = foldEvents(checkout);
    if (r === undefined) throw new Error('a non-empty fold gives a rollup');
    return r;
  });
  const counts = (r: RouteRollup) => ({
    requests: r.requests,
    failures: r.failures,
    durationMsSum: r.durationMsSum,
    durationMsMax: r.durationMsMax,
    users: r.users,
    failedUsers: r.failedUsers,
    causes: Object.fromEntries(
      r.causes.map((c) => [JSON.stringify([c.sqlstate, c.callSite, c.query, c.errorClass]), c.count]),
    ),
    releases: r.releases,
  });

  it('is commutative and associative on counts, user sets, causes and releases', () => {
    fc.assert(
      fc.property(rollup, rollup, rollup, (a, b, c) => {
        expect(counts(mergeRollups(a, b))).toEqual(counts(mergeRollups(b, a)));
        expect(counts(mergeRollups(mergeRollups(a, b), c))).toEqual(
          counts(mergeRollups(a, mergeRollups(b, c))),
        );
      }),
    );
  });

  it('folding a batch at once equals merging its parts one by one', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), fc.nat(40), (events, cut) => {
        const whole = foldEvents(events);
        const parts = mergeRollupList([
          ...foldEvents(events.slice(0, cut)),
          ...foldEvents(events.slice(cut)),
        ]);
        expect(parts.map(counts)).toEqual(whole.map(counts));
        expect(parts.map((r) => r.samples)).toEqual(whole.map((r) => r.samples));
      }),
    );
  });

  it('folding equals merging the rollup of each event in order', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), (events) => {
        expect(foldEvents(events)).toEqual(mergeRollupList(events.map(eventRollup)));
      }),
    );
  });

  it('keeps every bound, and the causes add up to the failures', () => {
    fc.assert(
      fc.property(fc.array(rollup, { minLength: 1, maxLength: 6 }), (list) => {
        const merged = list.reduce(mergeRollups);
        expect(merged.samples.length).toBeLessThanOrEqual(MAX_ROLLUP_SAMPLES);
        expect(merged.causes.length).toBeLessThanOrEqual(MAX_ROLLUP_CAUSES);
        expect(merged.users.length).toBeLessThanOrEqual(MAX_ROLLUP_USERS);
        expect(merged.causes.reduce((sum, c) => sum + c.count, 0)).toBe(merged.failures);
        expect(merged.samples.length).toBe(Math.min(MAX_ROLLUP_SAMPLES, merged.failures));
        expect(new Set(merged.failedUsers).size).toBe(merged.failedUsers.length);
        for (const u of merged.failedUsers) expect(merged.users).toContain(u);
        const times = merged.samples.map((s) => s.at);
        expect(times).toEqual(times.toSorted((x, y) => x - y));
      }),
    );
  });

  it('stays associative on users past the bound (the smallest ids are kept)', () => {
    const ids = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => `u${String(from + i).padStart(6, '0')}`);
    const base = foldEvents([request({ at: 0 })])[0];
    if (base === undefined) throw new Error('one rollup');
    const withUsers = (list: string[]): RouteRollup => ({ ...base, users: list.toSorted(), failedUsers: [] });
    const a = withUsers(ids(0, 6_000));
    const b = withUsers(ids(4_000, 6_000));
    const c = withUsers(ids(9_000, 3_000));
    const left = mergeRollups(mergeRollups(a, b), c);
    const right = mergeRollups(a, mergeRollups(b, c));
    expect(left.users).toEqual(right.users);
    expect(left.users).toEqual(ids(0, MAX_ROLLUP_USERS));
    expect(left.usersTruncated && right.usersTruncated).toBe(true);
    expect(mergeRollups(a, c).usersTruncated).toBe(false);
  });
});
