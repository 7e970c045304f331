import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/core/finding.js';
import { createFindingDetector } from '../../../src/core/finding-detector.js';
import type { DeadlockReport } from '../../../src/core/log-event.js';
import type { LockWait } from '../../../src/core/sample.js';
import { FakeClock } from '../../support/fake-clock.js';
import { CountingIds, T0, counters, sample, session, wait } from '../../support/sample-builder.js';

type Step =
  | {
      readonly kind: 'sample';
      readonly dt: number;
      readonly waits: readonly LockWait[];
      readonly deadlocksAdded: number;
    }
  | {
      readonly kind: 'report';
      readonly dt: number;
      readonly pids: readonly number[];
      readonly twice: boolean;
    }
  | { readonly kind: 'unreachable'; readonly dt: number }
  | { readonly kind: 'reachable'; readonly dt: number };

const pid = fc.integer({ min: 1, max: 8 });
const dt = fc.integer({ min: 200, max: 4000 });
const waits = fc.uniqueArray(pid, { maxLength: 6 }).chain((pids) =>
  fc.tuple(
    ...pids.map((p) =>
      fc
        .record({
          by: fc.uniqueArray(pid, { minLength: 1, maxLength: 2 }),
          relation: fc.constantFrom(null, 'public.a', 'public.b'),
          started: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
        })
        .map(({ by, relation, started }) => ({ p, by, relation, started })),
    ),
  ),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        kind: fc.constant('sample' as const),
        dt,
        waits: waits.map((ws) => ws.map((w) => ({ ...w }))),
        deadlocksAdded: fc.integer({ min: 0, max: 2 }),
      })
      .map((s) => ({
        ...s,
        waits: s.waits.map((w) => wait(w.p, w.by, { relation: w.relation, waitStart: w.started })),
      })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      dt,
      pids: fc.uniqueArray(pid, { minLength: 2, maxLength: 3 }),
      twice: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unreachable' as const), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reachable' as const), dt }) },
);

/** Every pid is always there, each with one transaction for the whole run. */
const sessions = [1, 2, 3, 4, 5, 6, 7, 8].map((p) =>
  session(p, {
    state: p % 3 === 0 ? 'idle in transaction' : 'active',
    xactStart: T0 - p * 100_000,
    stateChange: T0 - p * 10_000,
  }),
);

const report = (at: number, pids: readonly number[]): DeadlockReport => ({
  at,
  victimPid: pids[0] ?? null,
  database: 'shop',
  processes: pids.map((p, i) => ({
    pid: p,
    waitsForMode: 'ShareLock',
    waitsForObject: 'transaction 1',
    relation: null,
    blockedBy: pids[(i + 1) % pids.length] ?? 0,
    query: null,
  })),
});

/** Runs the steps, then a calm sample, and checks what came out. */
const run = (steps: readonly Step[]) => {
  const clock = new FakeClock(T0);
  const detector = createFindingDetector({
    target: 'primary',
    clock,
    ids: new CountingIds(),
    thresholds: { stormWaiters: 3 },
  });
  const out: Finding[] = [];
  let deadlocks = 0;
  let counterRises = 0;
  let sampled = false;
  for (const s of steps) {
    clock.advance(s.dt);
    const now = clock.now();
    switch (s.kind) {
      case 'sample': {
        deadlocks += s.deadlocksAdded;
        const found = detector.onSample(
          sample(now, { sessions, lockWaits: [...s.waits], counters: [counters(deadlocks)] }),
        );
        const waiting = new Set(
          s.waits.filter((w) => w.blockedBy.some((b) => b !== w.pid)).map((w) => w.pid),
        );
        for (const f of found) {
          if (f.kind === 'blocking_episode' && f.phase === 'open')
            for (const root of f.roots) expect(waiting.has(root.pid)).toBe(false);
        }
        // The first reading is the baseline, not a rise.
        if (sampled) counterRises += s.deadlocksAdded;
        sampled = true;
        out.push(...found);
        break;
      }
      case 'report': {
        const first = detector.onDeadlockReport(report(now, s.pids));
        expect(first).toHaveLength(1);
        out.push(...first);
        if (s.twice) expect(detector.onDeadlockReport(report(now, s.pids))).toEqual([]);
        break;
      }
      case 'unreachable':
        out.push(...detector.onUnreachable('down'));
        break;
      case 'reachable':
        out.push(...detector.onReachable());
        break;
    }
  }
  clock.advance(60_000);
  out.push(...detector.onSample(sample(clock.now(), { sessions, counters: [counters(deadlocks)] })));
  return { out, counterRises };
};

describe('finding detector properties', () => {
  it('episodes open once and close exactly once; no finding twice for the same evidence', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { out } = run(steps);
        const byId = new Map<string, Finding[]>();
        for (const f of out) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);

        let openEpisode: string | null = null;
        let outage: 'up' | 'down' = 'up';
        for (const f of out) {
          if (f.kind === 'blocking_episode') {
            if (f.phase === 'open') {
              expect(openEpisode).toBeNull();
              openEpisode = f.id;
            } else {
              expect(openEpisode).toBe(f.id);
              expect(f.endedAt).toBeGreaterThanOrEqual(f.startedAt);
              openEpisode = null;
            }
          }
          if (f.kind === 'target_unreachable') {
            expect(outage).toBe('up');
            outage = 'down';
          }
          if (f.kind === 'target_recovered') {
            expect(outage).toBe('down');
            outage = 'up';
          }
        }
        expect(openEpisode).toBeNull();

        for (const [, group] of byId) {
          const first = group[0];
          if (first?.kind === 'blocking_episode') {
            expect(group.map((f) => (f.kind === 'blocking_episode' ? f.phase : f.kind))).toEqual([
              'open',
              'closed',
            ]);
          } else if (first?.kind === 'deadlock') {
            const sources = group.map((f) => (f.kind === 'deadlock' ? f.source : f.kind)).join(',');
            expect(['live', 'log', 'counter', 'live,log']).toContain(sources);
          } else {
            expect(group).toHaveLength(1);
          }
        }
        // Sessions keep one transaction all run long: at most one report of each per pid.
        for (const kind of ['long_transaction', 'idle_in_transaction'] as const) {
          const pids = out.flatMap((f) => (f.kind === kind ? [f.pid] : []));
          expect(new Set(pids).size).toBe(pids.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('counter fallback never reports more deadlocks than the counter rose', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { out, counterRises } = run(steps);
        const counted = out.reduce(
          (sum, f) => sum + (f.kind === 'deadlock' && f.source === 'counter' ? f.count : 0),
          0,
        );
        expect(counted).toBeLessThanOrEqual(counterRises);
      }),
      { numRuns: 150 },
    );
  });
});
