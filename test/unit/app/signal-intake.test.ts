import { describe, expect, it } from 'vitest';
import { DEFAULT_SIGNAL_RETENTION_MS, SignalIntake } from '../../../src/app/signal-intake.js';
import { MAX_ROLLUP_USERS, type RequestOutcome, type RouteRollup } from '../../../src/core/app-signal.js';
import type { IncidentStore, SignalRepository } from '../../../src/core/incident-store.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';

const request = (over: Partial<RequestOutcome> = {}): RequestOutcome => ({
  kind: 'request',
  service: 'shop',
  at: 1_764_527_000_100,
  method: 'POST',
  route: '/checkout',
  status: 500,
  durationMs: 10,
  user: 'u1',
  errorClass: 'DatabaseError',
  release: 'v2',
  sqlFailures: [
    { sqlstate: '40P01', query: 'UPDATE inventory SET stock = stock - $1', callSite: 'checkout.ts:88' },
  ],
  ...over,
});

/** A MemoryStore whose signal merges are recorded and can be held until released. */
function recordingStore(): {
  store: IncidentStore;
  merges: (readonly RouteRollup[])[];
  hold: () => () => void;
  fail: (error: Error | null) => void;
} {
  const inner = new MemoryStore();
  const merges: (readonly RouteRollup[])[] = [];
  let gate: Promise<void> = Promise.resolve();
  let failure: Error | null = null;
  const signals: SignalRepository = {
    merge: async (rollups) => {
      merges.push(rollups);
      await gate;
      if (failure !== null) throw failure;
      await inner.signals.merge(rollups);
    },
    list: (q) => inner.signals.list(q),
    prune: (before) => inner.signals.prune(before),
  };
  const store = Object.create(inner, { signals: { value: signals } }) as IncidentStore;
  return {
    store,
    merges,
    hold: () => {
      let release = (): void => undefined;
      gate = new Promise((resolve) => (release = resolve));
      return release;
    },
    fail: (error) => (failure = error),
  };
}

describe('SignalIntake', () => {
  it('folds a batch into rollups, stores them before resolving, counts and nudges', async () => {
    const store = new MemoryStore();
    const counted: [string, number][] = [];
    let nudges = 0;
    const intake = new SignalIntake({
      store,
      nudge: () => (nudges += 1),
      count: (o, n) => counted.push([o, n]),
    });
    await intake.ingestEvents(
      [request(), request({ user: 'u2', status: 200, errorClass: null, sqlFailures: [] })],
      1_764_527_001_000,
      3,
    );
    await intake.ingestEvents([], 1_764_527_001_000);
    const [r] = await store.signals.list({ since: 0 });
    expect(r).toMatchObject({
      route: '/checkout',
      requests: 2,
      failures: 1,
      users: ['u1', 'u2'],
      failedUsers: ['u1'],
    });
    expect(counted).toEqual([
      ['dropped', 3],
      ['accepted', 2],
    ]);
    expect(nudges).toBe(1);
  });

  it('merges the batches that arrive while a merge runs in one store call, and answers each once stored', async () => {
    const { store, merges, hold } = recordingStore();
    const intake = new SignalIntake({ store });
    const release = hold();
    const first = intake.ingestEvents([request({ user: 'a' })], 1);
    const later = Array.from({ length: 5 }, (_, i) => intake.ingestEvents([request({ user: `b${i}` })], 1));
    let settled = 0;
    for (const p of [first, ...later]) void p.then(() => (settled += 1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(0);
    release();
    await Promise.all([first, ...later]);
    expect(merges).toHaveLength(2);
    expect(merges[1]).toHaveLength(1);
    expect(merges[1]?.[0]?.requests).toBe(5);
    expect((await store.signals.list({ since: 0 }))[0]?.requests).toBe(6);
  });

  it('rejects every batch of a merge that failed, and goes on with the next', async () => {
    const { store, fail } = recordingStore();
    const intake = new SignalIntake({ store });
    fail(new Error('store down'));
    await expect(intake.ingestEvents([request()], 1)).rejects.toThrow('store down');
    fail(null);
    await intake.ingestEvents([request()], 1);
    expect((await store.signals.list({ since: 0 }))[0]?.requests).toBe(1);
  });

  it('prunes rollups older than the retention from time to time', async () => {
    const store = new MemoryStore();
    const intake = new SignalIntake({ store });
    const day = 24 * 3_600_000;
    const t0 = 1_764_527_000_000;
    await intake.ingestEvents([request({ at: t0 })], t0);
    await intake.ingestEvents([request({ at: t0 + 15 * day })], t0 + 15 * day);
    await intake.idle();
    expect((await store.signals.list({ since: 0 })).map((r) => r.bucket)).toEqual([t0 + 15 * day]);
    expect(DEFAULT_SIGNAL_RETENTION_MS).toBe(14 * day);
  });
});

describe('SignalIntake, users already stored', () => {
  it('sends each user of a rollup key once, and the stored sets stay whole', async () => {
    const { store, merges } = recordingStore();
    const intake = new SignalIntake({ store });
    await intake.ingestEvents(
      [request({ user: 'u1' }), request({ user: 'u2', status: 200, errorClass: null, sqlFailures: [] })],
      1,
    );
    await intake.ingestEvents([request({ user: 'u1' }), request({ user: 'u3' })], 2);
    expect(merges[1]?.[0]).toMatchObject({ users: ['u3'], failedUsers: ['u3'], requests: 2 });
    const [stored] = await store.signals.list({ since: 0 });
    expect(stored).toMatchObject({ users: ['u1', 'u2', 'u3'], failedUsers: ['u1', 'u3'], requests: 4 });
  });

  it('sends them again after a failed merge', async () => {
    const { store, merges, fail } = recordingStore();
    const intake = new SignalIntake({ store });
    fail(new Error('store down'));
    await expect(intake.ingestEvents([request({ user: 'u1' })], 1)).rejects.toThrow('store down');
    fail(null);
    await intake.ingestEvents([request({ user: 'u1' })], 2);
    expect(merges[1]?.[0]?.users).toEqual(['u1']);
    expect((await store.signals.list({ since: 0 }))[0]?.users).toEqual(['u1']);
  });

  it('sends no more ids for a key that holds the bound, and marks it truncated', async () => {
    const { store, merges } = recordingStore();
    const intake = new SignalIntake({ store });
    const users = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => request({ user: `u${String(from + i).padStart(6, '0')}` }));
    await intake.ingestEvents(users(0, MAX_ROLLUP_USERS), 1);
    expect(merges[0]?.[0]?.users).toHaveLength(MAX_ROLLUP_USERS);
    expect(merges[0]?.[0]?.usersTruncated).toBe(false);
    await intake.ingestEvents([...users(0, 3), ...users(MAX_ROLLUP_USERS, 2)], 2);
    expect(merges[1]?.[0]).toMatchObject({ users: [], failedUsers: [], usersTruncated: true, requests: 5 });
    await intake.ingestEvents(users(5, 2), 3);
    expect(merges[2]?.[0]).toMatchObject({ users: [], usersTruncated: false, requests: 2 });
    const [stored] = await store.signals.list({ since: 0 });
    expect(stored).toMatchObject({ requests: MAX_ROLLUP_USERS + 7, usersTruncated: true });
    expect(stored?.users).toHaveLength(MAX_ROLLUP_USERS);
  });
});
