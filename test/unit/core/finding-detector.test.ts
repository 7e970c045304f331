import { describe, expect, it } from 'vitest';
import type { BlockingEpisodeFinding, DeadlockFinding, Finding } from '../../../src/core/finding.js';
import { createFindingDetector } from '../../../src/core/finding-detector.js';
import type { DetectorThresholds } from '../../../src/core/detector-context.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CountingIds, T0, counters, sample, session, wait } from '../../support/sample-builder.js';

const setup = (thresholds: Partial<DetectorThresholds> = {}) => {
  const clock = new FakeClock(T0);
  const detector = createFindingDetector({ target: 'primary', clock, ids: new CountingIds(), thresholds });
  return { clock, detector };
};

const ofKind = <K extends Finding['kind']>(
  findings: readonly Finding[],
  kind: K,
): Extract<Finding, { kind: K }>[] =>
  findings.filter((f): f is Extract<Finding, { kind: K }> => f.kind === kind);

const deadlockReport = (at: number, over: Partial<DeadlockReport> = {}): DeadlockReport => ({
  at,
  victimPid: 11,
  database: 'shop',
  processes: [
    {
      pid: 10,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 746',
      relation: 'public.inventory',
      blockedBy: 11,
      query: 'UPDATE inventory SET n = n - $1 WHERE id = $2',
    },
    {
      pid: 11,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 745',
      relation: 'public.products',
      blockedBy: 10,
      query: 'UPDATE products SET n = n + $1 WHERE id = $2',
    },
  ],
  ...over,
});

describe('deadlocks', () => {
  const cycleSample = (at: number) =>
    sample(at, {
      sessions: [session(10, { query: 'UPDATE inventory …' }), session(11, { query: 'UPDATE products …' })],
      lockWaits: [
        wait(10, [11], { relation: 'public.inventory' }),
        wait(11, [10], { relation: 'public.products' }),
      ],
    });

  it('reports a live cycle once, then merges the log report into the same finding', () => {
    const { detector } = setup();
    const live = detector.onSample(cycleSample(T0));
    expect(live).toHaveLength(1);
    const first = live[0] as DeadlockFinding;
    expect(first).toMatchObject({
      kind: 'deadlock',
      source: 'live',
      database: 'shop',
      count: 1,
      victimPid: null,
    });
    expect(first.processes.map((p) => [p.pid, p.blockedBy, p.query, p.relation])).toEqual([
      [10, 11, 'UPDATE inventory …', 'public.inventory'],
      [11, 10, 'UPDATE products …', 'public.products'],
    ]);
    // Still there a second later (deadlock_timeout not yet over): the same deadlock.
    expect(detector.onSample(cycleSample(T0 + 1000))).toEqual([]);
    const logged = detector.onDeadlockReport(deadlockReport(T0 + 1100));
    expect(logged).toEqual([
      expect.objectContaining({ id: first.id, source: 'log', victimPid: 11, at: T0 + 1100 }),
    ]);
    expect((logged[0] as DeadlockFinding).processes[0]?.query).toBe(
      'UPDATE inventory SET n = n - $1 WHERE id = $2',
    );
    // The same report read twice (log rotation) is not a second deadlock.
    expect(detector.onDeadlockReport(deadlockReport(T0 + 1100))).toEqual([]);
  });

  it('keeps the live relation names where the log names none or an unqualified one', () => {
    const { detector } = setup();
    detector.onSample(cycleSample(T0));
    const report = deadlockReport(T0 + 1100);
    const [merged] = detector.onDeadlockReport({
      ...report,
      processes: [
        { ...report.processes[0]!, relation: null },
        { ...report.processes[1]!, relation: 'products' },
      ],
    });
    expect((merged as DeadlockFinding).processes.map((p) => p.relation)).toEqual([
      'public.inventory',
      'public.products',
    ]);
  });

  it('carries each side’s user, application and row (ctid) from the live graph into the log’s report', () => {
    const { detector } = setup();
    const row = (ctid: string) => ({
      kind: 'row' as const,
      relation: 'public.accounts',
      relationOid: 16385,
      ctid,
    });
    const same = 'UPDATE accounts SET balance = balance + $1 WHERE id = $2';
    const waits = sample(T0, {
      sessions: [
        session(10, { query: same, user: 'web', application: 'checkout' }),
        session(11, { query: same, user: 'batch', application: 'payout' }),
      ],
      lockWaits: [
        wait(10, [11], {
          relation: 'public.accounts',
          object: { kind: 'transaction', transactionId: '746', holderPid: 11, row: row('(0,2)') },
        }),
        wait(11, [10], {
          relation: 'public.accounts',
          object: { kind: 'transaction', transactionId: '745', holderPid: 10, row: row('(0,1)') },
        }),
      ],
    });
    const [live] = detector.onSample(waits) as DeadlockFinding[];
    expect(live?.processes.map((p) => [p.pid, p.user, p.application])).toEqual([
      [10, 'web', 'checkout'],
      [11, 'batch', 'payout'],
    ]);
    const report = deadlockReport(T0 + 1100);
    const [merged] = detector.onDeadlockReport({
      ...report,
      processes: report.processes.map((p) => ({ ...p, query: same, relation: null })),
    }) as DeadlockFinding[];
    expect(merged?.id).toBe(live?.id);
    // Same statement on both sides: the rows tell them apart.
    expect(merged?.processes.map((p) => [p.pid, p.user, p.application, p.lockObject])).toEqual([
      [
        10,
        'web',
        'checkout',
        { kind: 'transaction', transactionId: '746', holderPid: 11, row: row('(0,2)') },
      ],
      [
        11,
        'batch',
        'payout',
        { kind: 'transaction', transactionId: '745', holderPid: 10, row: row('(0,1)') },
      ],
    ]);
  });

  it('names the sessions of a deadlock the log reported alone, from the last sample that saw them', () => {
    const { detector } = setup();
    detector.onSample(
      sample(T0, {
        sessions: [
          session(10, { user: 'web', application: 'checkout' }),
          session(11, { user: 'batch', application: null }),
        ],
      }),
    );
    const [logged] = detector.onDeadlockReport(deadlockReport(T0 + 500)) as DeadlockFinding[];
    expect(logged?.processes.map((p) => [p.pid, p.user, p.application])).toEqual([
      [10, 'web', 'checkout'],
      [11, 'batch', null],
    ]);
  });

  it('treats a cycle seen after its log report as the same deadlock, and a later one between the same pids as new', () => {
    const { detector } = setup();
    const [logged] = detector.onDeadlockReport(deadlockReport(T0 + 1000));
    expect(logged).toMatchObject({ source: 'log' });
    // This sample was taken before PostgreSQL broke the cycle, but processed after the report.
    expect(detector.onSample(cycleSample(T0 + 900))).toEqual([]);
    expect(detector.onSample(sample(T0 + 2000))).toEqual([]);
    // Pooled backends deadlock again: a new cycle, a new finding; and its report merges into it.
    const [again] = detector.onSample(cycleSample(T0 + 3000));
    expect(again).toMatchObject({ kind: 'deadlock', source: 'live' });
    expect(again?.id).not.toBe(logged?.id);
    const [merged] = detector.onDeadlockReport(deadlockReport(T0 + 3900));
    expect(merged?.id).toBe(again?.id);
    // A third report with no live sighting is its own deadlock.
    const [third] = detector.onDeadlockReport(deadlockReport(T0 + 8000));
    expect(third?.id).not.toBe(again?.id);
  });

  it('does not merge a log report outside the window', () => {
    const { detector } = setup({ deadlockMergeWindowMs: 5000 });
    const [live] = detector.onSample(cycleSample(T0));
    const [logged] = detector.onDeadlockReport(deadlockReport(T0 + 6000));
    expect(logged?.id).not.toBe(live?.id);
  });

  it('falls back on pg_stat_database.deadlocks only after the grace, and only for unexplained deadlocks', () => {
    const { detector } = setup();
    expect(detector.onSample(sample(T0, { counters: [counters(5), counters(0, 'other')] }))).toEqual([]);
    expect(detector.onSample(sample(T0 + 1000, { counters: [counters(7), counters(0, 'other')] }))).toEqual(
      [],
    );
    // One of the two is explained by the log.
    expect(detector.onDeadlockReport(deadlockReport(T0 + 500))).toHaveLength(1);
    expect(detector.onSample(sample(T0 + 10_999, { counters: [counters(7), counters(0, 'other')] }))).toEqual(
      [],
    );
    const [fallback] = detector.onSample(
      sample(T0 + 11_000, { counters: [counters(7), counters(0, 'other')] }),
    );
    expect(fallback).toMatchObject({
      kind: 'deadlock',
      source: 'counter',
      count: 1,
      database: 'shop',
      at: T0 + 1000,
      processes: [],
    });
    expect(detector.onSample(sample(T0 + 12_000, { counters: [counters(7), counters(0, 'other')] }))).toEqual(
      [],
    );
  });

  it('lets a late log report (within the grace) explain a counter rise; ignores history and resets', () => {
    const { detector } = setup();
    detector.onSample(sample(T0, { counters: [counters(100)] }));
    detector.onSample(sample(T0 + 1000, { counters: [counters(101)] }));
    detector.onDeadlockReport(deadlockReport(T0 + 5000));
    expect(detector.onSample(sample(T0 + 20_000, { counters: [counters(0)] }))).toEqual([]);
    expect(detector.onSample(sample(T0 + 40_000, { counters: [counters(0)] }))).toEqual([]);
  });

  it('lets a live cycle explain a counter rise', () => {
    const { detector } = setup();
    detector.onSample({ ...cycleSample(T0), counters: [counters(1)] });
    detector.onSample(sample(T0 + 1000, { counters: [counters(1)] }));
    detector.onSample(sample(T0 + 9000, { counters: [counters(2)] }));
    expect(detector.onSample(sample(T0 + 30_000, { counters: [counters(2)] }))).toEqual([]);
  });
});

describe('blocking episodes', () => {
  /** Idle-in-transaction 100 holds a row; 101 and 102 wait on it, 103 and 104 behind 101, 105 behind 102. */
  const idleChain = (at: number, over: { waitStart?: number | null } = {}) =>
    sample(at, {
      sessions: [
        session(100, {
          state: 'idle in transaction',
          xactStart: T0 - 60_000,
          stateChange: T0 - 45_000,
          query: 'UPDATE accounts SET balance = $1 WHERE id = $2',
        }),
        ...[101, 102, 103, 104, 105].map((pid) =>
          session(pid, { query: `UPDATE accounts SET seen = $1 WHERE id = ${pid}` }),
        ),
      ],
      lockWaits: [
        wait(101, [100], { waitStart: over.waitStart ?? null }),
        wait(102, [100], { waitStart: over.waitStart ?? null }),
        wait(103, [101], {
          lockType: 'tuple',
          mode: 'ExclusiveLock',
          relation: 'public.accounts',
          waitStart: over.waitStart ?? null,
        }),
        wait(104, [101], {
          lockType: 'tuple',
          mode: 'ExclusiveLock',
          relation: 'public.accounts',
          waitStart: over.waitStart ?? null,
        }),
        wait(105, [102], { waitStart: over.waitStart ?? null }),
      ],
    });

  it('names the idle-in-transaction session as root and all five waiters as its victims', () => {
    const { detector } = setup();
    // The idle session itself is a finding of its own (idle 45 s > 30 s); no episode yet.
    expect(detector.onSample(idleChain(T0)).map((f) => f.kind)).toEqual(['idle_in_transaction']);
    const [open] = ofKind(detector.onSample(idleChain(T0 + 1000)), 'blocking_episode');
    expect(open).toMatchObject({
      phase: 'open',
      startedAt: T0,
      endedAt: null,
      maxDepth: 2,
      maxWaiters: 5,
      longestWaitMs: 1000,
    });
    expect(open?.roots).toEqual([
      {
        pid: 100,
        state: 'idle in transaction',
        query: 'UPDATE accounts SET balance = $1 WHERE id = $2',
        user: 'app',
        application: 'web',
        client: '10.0.0.1',
        xactAgeMs: 61_000,
        stateAgeMs: 46_000,
        blockedCount: 5,
      },
    ]);
    expect(open?.victims.map((v) => [v.pid, v.rootPids, v.depth, v.blockedBy])).toEqual([
      [101, [100], 1, [100]],
      [102, [100], 1, [100]],
      [103, [100], 2, [101]],
      [104, [100], 2, [101]],
      [105, [100], 2, [102]],
    ]);
    expect(open?.edges).toHaveLength(5);

    expect(ofKind(detector.onSample(idleChain(T0 + 2000)), 'blocking_episode')).toEqual([]);
    const [closed] = ofKind(
      detector.onSample(sample(T0 + 3000, { sessions: [session(100, { state: 'idle' })] })),
      'blocking_episode',
    );
    expect(closed).toMatchObject({
      id: open?.id,
      phase: 'closed',
      startedAt: T0,
      endedAt: T0 + 3000,
      longestWaitMs: 2000,
    });
    expect(closed?.victims.map((v) => v.waitedMs)).toEqual([2000, 2000, 2000, 2000, 2000]);
  });

  it('tells each victim’s lock as what it is (a row, the transaction of a pid)', () => {
    const { detector } = setup();
    const row = { kind: 'row' as const, relation: 'public.accounts', relationOid: 16385, ctid: '(0,1)' };
    const [episode] = detector.onSample(
      sample(T0, {
        sessions: [session(1, { state: 'idle in transaction' }), session(2), session(3)],
        lockWaits: [
          wait(2, [1], {
            waitStart: T0 - 2000,
            object: { kind: 'transaction', transactionId: '9', holderPid: 1, row },
          }),
          wait(3, [2], {
            lockType: 'tuple',
            mode: 'ExclusiveLock',
            relation: 'public.accounts',
            waitStart: T0 - 2000,
            object: row,
          }),
        ],
      }),
    ) as BlockingEpisodeFinding[];
    expect(episode?.victims.map((v) => [v.pid, v.lockObject])).toEqual([
      [2, { kind: 'transaction', transactionId: '9', holderPid: 1, row }],
      [3, row],
    ]);
  });

  it('uses waitstart when the sampler has it, opening on the first sample past the threshold', () => {
    const { detector } = setup();
    const [open] = ofKind(detector.onSample(idleChain(T0, { waitStart: T0 - 1500 })), 'blocking_episode');
    expect(open).toMatchObject({ phase: 'open', startedAt: T0 - 1500, longestWaitMs: 1500 });
  });

  it('makes the long SELECT the root when an ALTER TABLE queues behind it', () => {
    const { detector } = setup();
    const onOrders = {
      lockType: 'relation',
      relation: 'public.orders',
      relationOid: 16400,
      waitStart: T0 - 2000,
    };
    const findings = detector.onSample(
      sample(T0, {
        sessions: [
          session(200, {
            query: 'SELECT count(*) FROM orders',
            xactStart: T0 - 120_000,
            stateChange: T0 - 120_000,
          }),
          session(201, { query: 'ALTER TABLE orders ADD COLUMN note text' }),
          session(202, { query: 'SELECT * FROM orders WHERE id = $1' }),
          session(203, { query: 'SELECT * FROM orders WHERE id = $1' }),
        ],
        lockWaits: [
          wait(201, [200], { ...onOrders, mode: 'AccessExclusiveLock' }),
          wait(202, [201], { ...onOrders, mode: 'AccessShareLock' }),
          wait(203, [201], { ...onOrders, mode: 'AccessShareLock' }),
        ],
      }),
    );
    const [open] = ofKind(findings, 'blocking_episode');
    expect(open?.roots.map((r) => [r.pid, r.query, r.blockedCount])).toEqual([
      [200, 'SELECT count(*) FROM orders', 3],
    ]);
    // The root is never the queue-only one: only waiters carry the mark.
    expect(open?.roots[0]).not.toHaveProperty('queueOnly');
    expect(open?.victims.map((v) => [v.pid, v.rootPids, v.queueOnly ?? false])).toEqual([
      [201, [200], true],
      [202, [200], false],
      [203, [200], false],
    ]);
    expect(open?.maxDepth).toBe(2);
  });

  it('opens once, closes once, and a later blocking is a new episode', () => {
    const { detector } = setup();
    const chain = (at: number) =>
      sample(at, { sessions: [session(1), session(2)], lockWaits: [wait(2, [1], { waitStart: T0 })] });
    const episodes = (findings: Finding[]) => ofKind(findings, 'blocking_episode');
    expect(episodes(detector.onSample(chain(T0 + 500)))).toEqual([]);
    const [open] = episodes(detector.onSample(chain(T0 + 1000)));
    expect(open?.phase).toBe('open');
    for (let t = 2000; t <= 5000; t += 1000) expect(episodes(detector.onSample(chain(T0 + t)))).toEqual([]);
    const [closed] = episodes(detector.onSample(sample(T0 + 6000)));
    expect(closed).toMatchObject({ id: open?.id, phase: 'closed', endedAt: T0 + 6000, longestWaitMs: 5000 });
    expect(episodes(detector.onSample(sample(T0 + 7000)))).toEqual([]);
    const later = (at: number) =>
      sample(at, { sessions: [session(1), session(2)], lockWaits: [wait(2, [1], { waitStart: T0 + 8000 })] });
    const [next] = episodes(detector.onSample(later(T0 + 10_000)));
    expect(next).toMatchObject({ phase: 'open' });
    expect(next?.id).not.toBe(open?.id);
  });

  it('puts disjoint chains in one episode with several roots', () => {
    const { detector } = setup();
    const [open] = ofKind(
      detector.onSample(
        sample(T0, {
          lockWaits: [wait(2, [1], { waitStart: T0 - 3000 }), wait(4, [3], { waitStart: T0 - 100 })],
        }),
      ),
      'blocking_episode',
    );
    expect(open?.roots.map((r) => r.pid)).toEqual([1, 3]);
    expect(open?.victims.map((v) => [v.pid, v.rootPids])).toEqual([
      [2, [1]],
      [4, [3]],
    ]);
  });

  it('closes an open episode when the target becomes unreachable, as of the last sample', () => {
    const { clock, detector } = setup();
    detector.onSample(sample(T0, { lockWaits: [wait(2, [1], { waitStart: T0 - 2000 })] }));
    clock.set(T0 + 4000);
    const findings = detector.onUnreachable('connection refused');
    expect(findings.map((f) => f.kind)).toEqual(['target_unreachable', 'blocking_episode']);
    expect(ofKind(findings, 'blocking_episode')[0]).toMatchObject({ phase: 'closed', endedAt: T0 });
    expect(detector.onUnreachable('connection refused')).toEqual([]);
  });

  it('opens no episode for a deadlock cycle alone', () => {
    const { detector } = setup();
    const findings = detector.onSample(
      sample(T0, {
        lockWaits: [wait(1, [2], { waitStart: T0 - 900 }), wait(2, [1], { waitStart: T0 - 5000 })],
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual(['deadlock']);
  });
});

describe('lock-wait storms', () => {
  const waiters = (at: number, n: number) =>
    sample(at, {
      lockWaits: Array.from({ length: n }, (_, i) =>
        wait(100 + i, [1], { lockType: 'tuple', relation: 'public.items' }),
      ),
    });

  it('reports a storm once, until it calms below half the threshold', () => {
    const { detector } = setup({ blockingMs: 60_000 });
    const storms = (at: number, n: number) => ofKind(detector.onSample(waiters(at, n)), 'lock_wait_storm');
    expect(storms(T0, 9)).toEqual([]);
    expect(storms(T0 + 1000, 10)).toEqual([
      expect.objectContaining({ relation: 'public.items', waiters: 10, at: T0 + 1000 }),
    ]);
    expect(storms(T0 + 2000, 12)).toEqual([]);
    expect(storms(T0 + 3000, 5)).toEqual([]);
    expect(storms(T0 + 4000, 10)).toEqual([]);
    expect(storms(T0 + 5000, 4)).toEqual([]);
    expect(storms(T0 + 6000, 11)).toHaveLength(1);
  });
});

describe('long and idle transactions', () => {
  it('reports each once per pid and transaction, never for our own agent', () => {
    const { detector } = setup();
    const sessions = (xactStart: number) => [
      session(7, { state: 'idle in transaction', xactStart, stateChange: T0 - 31_000, application: 'web' }),
      session(8, {
        state: 'idle in transaction',
        xactStart: T0 - 400_000,
        stateChange: T0 - 400_000,
        application: 'hindsight-agent',
      }),
      session(9, { state: 'active', xactStart: T0 - 301_000, stateChange: T0 - 1000 }),
      session(10, { state: 'idle in transaction', xactStart: T0 - 10_000, stateChange: T0 - 10_000 }),
      session(11, { backendType: 'autovacuum worker', state: 'active', xactStart: T0 - 900_000 }),
    ];
    const first = detector.onSample(sample(T0, { sessions: sessions(T0 - 40_000) }));
    expect(first.map((f) => [f.kind, 'pid' in f ? f.pid : null])).toEqual([
      ['idle_in_transaction', 7],
      ['long_transaction', 9],
    ]);
    expect(ofKind(first, 'idle_in_transaction')[0]).toMatchObject({ idleMs: 31_000, application: 'web' });
    expect(ofKind(first, 'long_transaction')[0]).toMatchObject({ ageMs: 301_000, state: 'active' });
    expect(detector.onSample(sample(T0 + 1000, { sessions: sessions(T0 - 40_000) }))).toEqual([]);
    // A new transaction of pid 7 that idles long again is a new finding.
    expect(
      detector.onSample(sample(T0 + 2000, { sessions: sessions(T0 - 35_000) })).map((f) => f.kind),
    ).toEqual(['idle_in_transaction']);
  });

  it('measures ages on the server clock when the sample carries it', () => {
    const { detector } = setup();
    const findings = detector.onSample({
      ...sample(T0, {
        sessions: [
          session(7, { state: 'idle in transaction', xactStart: T0 - 50_000, stateChange: T0 - 40_000 }),
        ],
      }),
      serverNow: T0 - 20_000,
    });
    expect(findings).toEqual([]);
  });
});

describe('target reachability', () => {
  it('reports unreachable once per outage, then recovery with the downtime', () => {
    const { clock, detector } = setup();
    expect(detector.onReachable()).toEqual([]);
    const [down] = detector.onUnreachable('connection refused');
    expect(down).toMatchObject({ kind: 'target_unreachable', reason: 'connection refused', at: T0 });
    clock.set(T0 + 10_000);
    expect(detector.onUnreachable('the database system is starting up')).toEqual([]);
    clock.set(T0 + 20_000);
    expect(detector.onReachable()).toEqual([
      expect.objectContaining({ kind: 'target_recovered', downMs: 20_000, at: T0 + 20_000 }),
    ]);
    expect(detector.onReachable()).toEqual([]);
    detector.onUnreachable('again');
    clock.set(T0 + 25_000);
    expect(detector.onSample(sample(T0 + 25_000)).map((f) => f.kind)).toEqual(['target_recovered']);
  });
});

describe('episode ids', () => {
  it('closed reports keep the id of their open report', () => {
    const { detector } = setup();
    const all: BlockingEpisodeFinding[] = [];
    for (let t = 0; t < 10; t += 1) {
      const lockWaits = t % 4 === 3 ? [] : [wait(2, [1], { waitStart: T0 })];
      all.push(...ofKind(detector.onSample(sample(T0 + 1000 * (t + 1), { lockWaits })), 'blocking_episode'));
    }
    expect(all.map((f) => `${f.id}:${f.phase}`)).toEqual([
      'blocking_episode-1:open',
      'blocking_episode-1:closed',
      'blocking_episode-2:open',
      'blocking_episode-2:closed',
      'blocking_episode-3:open',
    ]);
  });
});
