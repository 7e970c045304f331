import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_ROLLUP_CAUSES,
  MAX_ROLLUP_SAMPLES,
  MAX_ROLLUP_USERS,
  type Deploy,
  type RequestOutcome,
  type RouteRollup,
} from '../../src/core/app-signal.js';
import { foldEvents, mergeRollupList, mergeRollups } from '../../src/core/app-signal-rollup.js';
import type { IncidentStore } from '../../src/core/incident-store.js';

/** A request in bucket 1_764_527_000_000 unless `at` says otherwise. */
export const requestEvent = (over: Partial<RequestOutcome> = {}): RequestOutcome => ({
  kind: 'request',
  service: 'shop',
  at: 1_764_527_000_100,
  method: 'POST',
  route: '/checkout',
  status: 200,
  durationMs: 12.5,
  user: 'u1',
  errorClass: null,
  release: 'v2',
  sqlFailures: [],
  ...over,
});

const failed = (callSite: string, over: Partial<RequestOutcome> = {}): RequestOutcome =>
  requestEvent({
    status: 500,
    errorClass: 'DatabaseError',
    sqlFailures: [
      { sqlstate: '40P01', query: 'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2', callSite },
    ],
    ...over,
  });

const deploy = (id: string, at: number, over: Partial<Deploy> = {}): Deploy => ({
  id,
  service: 'shop',
  version: `v-${id}`,
  commit: null,
  at,
  actor: 'ci',
  ...over,
});

const only = (list: RouteRollup[]): RouteRollup => {
  expect(list).toHaveLength(1);
  const [r] = list;
  if (r === undefined) throw new Error('one rollup');
  return r;
};

/**
 * The signal and deploy repositories' contract (run by memory-store.test.ts and postgres-store.test.ts):
 * the PostgreSQL store merges in SQL, so these tests compare what it stored with the merge of
 * core/app-signal-rollup.ts.
 */
export function signalStoreContract(name: string, open: () => Promise<IncidentStore>): void {
  describe(`IncidentStore signals contract: ${name}`, () => {
    let store: IncidentStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('stores a rollup, and merges the next ones of its key as mergeRollups does', async () => {
      const batches = [
        [requestEvent({ user: 'u3' }), failed('checkout.ts:88', { user: 'u2', at: 1_764_527_000_900 })],
        [
          failed('checkout.ts:88', { user: 'u1', at: 1_764_527_000_050, release: 'v1' }),
          requestEvent({ user: null, durationMs: 40 }),
        ],
        [
          failed('checkout.ts:91', { errorClass: null, user: 'u9', at: 1_764_527_000_050 }),
          requestEvent({ route: '/cart', method: 'GET' }),
        ],
      ];
      for (const events of batches) await store.signals.merge(foldEvents(events));
      const expected = mergeRollupList(batches.flatMap((events) => foldEvents(events)));
      expect(await store.signals.list({ since: 0 })).toEqual(expected);
      const checkout = expected.find((r) => r.route === '/checkout');
      expect(checkout).toMatchObject({
        requests: 5,
        failures: 3,
        users: ['u1', 'u2', 'u3', 'u9'],
        failedUsers: ['u1', 'u2', 'u9'],
        releases: ['v1', 'v2'],
      });
      expect(checkout?.samples.map((s) => s.user)).toEqual(['u1', 'u9', 'u2']);
    });

    it('merges several keys and repeated keys of one call', async () => {
      const a = foldEvents([requestEvent(), failed('x.ts:1', { at: 1_764_527_011_000 })]);
      const b = foldEvents([requestEvent({ user: 'u7' })]);
      await store.signals.merge([...a, ...b]);
      expect(await store.signals.list({ since: 0 })).toEqual(mergeRollupList([...a, ...b]));
      await store.signals.merge([]);
      expect(await store.signals.list({ since: 0 })).toHaveLength(2);
    });

    it('keeps the bounds when merging: smallest users, top causes with the rest as the null cause, first samples', async () => {
      const ids = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => `u${String(from + i).padStart(6, '0')}`);
      const first = foldEvents(
        ids(0, 6_000).map((user, i) => failed(`a.ts:${i % 12}`, { user, at: 1_764_527_005_000 + (i % 7) })),
      );
      const second = foldEvents(
        ids(5_000, 6_000).map((user, i) =>
          failed(`b.ts:${i % 12}`, { user, at: 1_764_527_001_000 + (i % 3) }),
        ),
      );
      await store.signals.merge(first);
      await store.signals.merge(second);
      const stored = only(await store.signals.list({ since: 0 }));
      const [f, s] = [only(first), only(second)];
      expect(stored).toEqual(mergeRollups(f, s));
      expect(stored.users).toEqual(ids(0, MAX_ROLLUP_USERS));
      expect(stored.usersTruncated).toBe(true);
      expect(stored.causes).toHaveLength(MAX_ROLLUP_CAUSES);
      expect(stored.causes.reduce((sum, c) => sum + c.count, 0)).toBe(12_000);
      expect(stored.samples).toHaveLength(MAX_ROLLUP_SAMPLES);
      expect(stored.samples.every((x) => x.at < 1_764_527_002_000)).toBe(true);
    });

    it('loses nothing when many merges of one key run at once', async () => {
      const merges = Array.from({ length: 24 }, (_, i) =>
        foldEvents([
          failed(`c.ts:${i % 3}`, { user: `u${i}`, at: 1_764_527_000_000 + i }),
          requestEvent({ user: `v${i}`, route: i % 2 === 0 ? '/checkout' : '/cart' }),
        ]),
      );
      await Promise.all(merges.map((m) => store.signals.merge(m)));
      const stored = await store.signals.list({ since: 0 });
      const expected = mergeRollupList(merges.flat());
      expect(
        stored.map((r) => [r.route, r.requests, r.failures, r.users.length, r.failedUsers.length]),
      ).toEqual(expected.map((r) => [r.route, r.requests, r.failures, r.users.length, r.failedUsers.length]));
      expect(stored.map((r) => r.causes)).toEqual(expected.map((r) => r.causes));
      expect(stored.map((r) => r.samples)).toEqual(expected.map((r) => r.samples));
    });

    it('leaves the user sets out when asked (users: false), the counts as they are', async () => {
      const events = [requestEvent({ user: 'u3' }), failed('checkout.ts:88', { user: 'u2' })];
      await store.signals.merge(foldEvents(events));
      const whole = only(await store.signals.list({ since: 0 }));
      expect(whole.users).toEqual(['u2', 'u3']);
      const counts = only(await store.signals.list({ since: 0, users: false }));
      expect(counts).toEqual({ ...whole, users: [], failedUsers: [], usersTruncated: false });
    });

    it('lists by time window, service, method and route, oldest bucket first', async () => {
      await store.signals.merge(
        foldEvents([
          requestEvent({ at: 1_764_527_020_000 }),
          requestEvent({ at: 1_764_527_000_000, route: '/cart', method: 'GET' }),
          requestEvent({ at: 1_764_527_000_000, service: 'billing' }),
          requestEvent({ at: 1_764_527_010_000 }),
          requestEvent({ at: 1_764_527_010_000, method: 'GET' }),
        ]),
      );
      const keys = async (query: Parameters<IncidentStore['signals']['list']>[0]) =>
        (await store.signals.list(query)).map(
          (r) => `${String(r.bucket - 1_764_527_000_000)} ${r.service} ${r.method} ${r.route}`,
        );
      expect(await keys({ since: 0 })).toEqual([
        '0 billing POST /checkout',
        '0 shop GET /cart',
        '10000 shop GET /checkout',
        '10000 shop POST /checkout',
        '20000 shop POST /checkout',
      ]);
      expect(await keys({ since: 1_764_527_010_000, until: 1_764_527_020_000 })).toEqual([
        '10000 shop GET /checkout',
        '10000 shop POST /checkout',
      ]);
      expect(await keys({ since: 0, service: 'shop', route: '/checkout' })).toEqual([
        '10000 shop GET /checkout',
        '10000 shop POST /checkout',
        '20000 shop POST /checkout',
      ]);
      expect(await keys({ since: 0, method: 'GET' })).toEqual([
        '0 shop GET /cart',
        '10000 shop GET /checkout',
      ]);
      expect(await keys({ since: 0, limit: 2 })).toHaveLength(2);
    });

    it('prunes rollups whose bucket began before a time', async () => {
      await store.signals.merge(
        foldEvents([requestEvent({ at: 1_000 }), requestEvent({ at: 15_000 }), requestEvent({ at: 25_000 })]),
      );
      expect(await store.signals.prune(20_000)).toBe(2);
      expect((await store.signals.list({ since: 0 })).map((r) => r.bucket)).toEqual([20_000]);
      expect(await store.signals.prune(20_000)).toBe(0);
    });

    it('keeps deploys: newest first, by service and since, the latest at or before a time', async () => {
      await store.deploys.insert(deploy('d1', 1_000, { commit: 'abc123' }));
      await store.deploys.insert(deploy('d2', 5_000));
      await store.deploys.insert(deploy('d3', 3_000, { service: 'billing' }));
      await store.deploys.insert(deploy('d4', 5_000));
      expect((await store.deploys.list({})).map((d) => d.id)).toEqual(['d4', 'd2', 'd3', 'd1']);
      expect(await store.deploys.list({ service: 'shop', since: 2_000, limit: 1 })).toEqual([
        deploy('d4', 5_000),
      ]);
      expect(await store.deploys.latestBefore('shop', 4_999)).toEqual(
        deploy('d1', 1_000, { commit: 'abc123' }),
      );
      expect((await store.deploys.latestBefore('shop', 5_000))?.id).toBe('d4');
      expect(await store.deploys.latestBefore('shop', 999)).toBeNull();
      expect(await store.deploys.latestBefore('nope', 9_000)).toBeNull();
      await expect(store.deploys.insert(deploy('d1', 7_000))).rejects.toMatchObject({
        code: 'STORE_CONFLICT',
      });
    });

    it('undoes a deploy written in a transact whose work rejects', async () => {
      await expect(
        store.transact('deploys', async (tx) => {
          await tx.deploys.insert(deploy('d1', 1_000));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.deploys.list({})).toEqual([]);
    });
  });
}
