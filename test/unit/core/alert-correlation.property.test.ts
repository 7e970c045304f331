import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { correlateAlert } from '../../../src/core/alert-correlation.js';
import type { Grouping } from '../../../src/core/catalog.js';
import type { IncidentState } from '../../../src/core/incident.js';
import { summarizeIncident } from '../../../src/core/incident-summary.js';
import {
  deadlock,
  episode,
  idleInTransaction,
  incident,
  storm,
  unreachable,
} from '../../support/finding-builder.js';

const states: readonly IncidentState[] = [
  'triggered',
  'acknowledged',
  'mitigated',
  'resolved',
  'closed',
  'cancelled',
];
const candidate = fc
  .record({
    state: fc.constantFrom(...states),
    lastAlertAt: fc.integer({ min: 0, max: 3_600_000 }),
    n: fc.nat(1000),
  })
  .map(({ state, lastAlertAt, n }) => incident({ id: `i${n}`, state, lastAlertAt, createdAt: 0 }));
const grouping: fc.Arbitrary<Grouping> = fc.oneof(
  fc.constant<Grouping>({ kind: 'off' }),
  fc.integer({ min: 0, max: 1_800_000 }).map((windowMs): Grouping => ({ kind: 'window', windowMs, by: [] })),
);

describe('correlateAlert (properties)', () => {
  it('never picks a closed or cancelled incident, joins only open ones, re-opens only resolved ones within the window', () => {
    fc.assert(
      fc.property(
        fc.array(candidate, { maxLength: 8 }),
        grouping,
        fc.integer({ min: 0, max: 3_600_000 }),
        (candidates, g, at) => {
          const decision = correlateAlert(candidates, g, at);
          if (decision.kind === 'open') {
            if (g.kind === 'window') {
              for (const c of candidates) {
                if (c.state !== 'closed' && c.state !== 'cancelled')
                  expect(at - c.lastAlertAt).toBeGreaterThan(g.windowMs);
              }
            }
            return;
          }
          expect(candidates).toContain(decision.incident);
          if (decision.kind === 'join')
            expect(['triggered', 'acknowledged', 'mitigated']).toContain(decision.incident.state);
          if (decision.kind === 'reopen') {
            expect(g.kind).toBe('window');
            expect(decision.incident.state).toBe('resolved');
          }
          if (g.kind === 'window') expect(at - decision.incident.lastAlertAt).toBeLessThanOrEqual(g.windowMs);
        },
      ),
    );
  });
});

describe('summarizeIncident (properties)', () => {
  const finding = fc.oneof(
    fc.nat(50).map((n) => deadlock(`d${n}`, n, { target: n % 3 === 0 ? 'other-db' : 'shop-db' })),
    fc.nat(50).map((n) => deadlock(`c${n}`, n, { source: 'counter', processes: [], count: (n % 5) - 1 })),
    fc.nat(50).map((n) => episode(`e${n}`, n, { longestWaitMs: n * 1000 })),
    fc.nat(50).map((n) => idleInTransaction(`i${n}`, n, { idleMs: n * 1000 })),
    fc.nat(50).map((n) => storm(`s${n}`, n, { waiters: n })),
    fc.nat(50).map((n) => unreachable(`u${n}`, n, { target: 'other-db' })),
  );
  it('is the same whatever order the evidence arrives in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(finding, { selector: (f) => f.id, maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        (findings, keys) => {
          const shuffled = findings
            .map((f, i) => ({ f, k: keys[i] ?? 0 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.f);
          expect(summarizeIncident({ findings: shuffled, alerts: [] })).toBe(
            summarizeIncident({ findings, alerts: [] }),
          );
        },
      ),
    );
  });
});
