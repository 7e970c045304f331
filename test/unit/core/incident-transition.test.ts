import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Incident, IncidentCommand } from '../../../src/core/incident.js';
import { transitionIncident } from '../../../src/core/incident-transition.js';
import { incident } from '../../support/finding-builder.js';

const command = (kind: IncidentCommand['kind']): IncidentCommand => ({ kind });

const apply = (start: Incident, steps: readonly [IncidentCommand['kind'], number][]): Incident => {
  let current = start;
  for (const [kind, at] of steps) {
    const result = transitionIncident(current, command(kind), at);
    if (!result.ok) throw new Error(result.reason);
    current = result.incident;
  }
  return current;
};

describe('transitionIncident', () => {
  it('walks the lifecycle triggered → acknowledged → mitigated → resolved → closed, stamping each step', () => {
    const done = apply(incident(), [
      ['acknowledge', 2_000],
      ['mitigate', 3_000],
      ['resolve', 4_000],
      ['close', 5_000],
    ]);
    expect(done).toMatchObject({
      state: 'closed',
      acknowledgedAt: 2_000,
      mitigatedAt: 3_000,
      resolvedAt: 4_000,
      closedAt: 5_000,
      version: 5,
    });
  });

  it('refuses to acknowledge an acknowledged incident, and says why', () => {
    const acked = apply(incident(), [['acknowledge', 2_000]]);
    const again = transitionIncident(acked, command('acknowledge'), 3_000);
    expect(again).toEqual({ ok: false, reason: 'the incident is already acknowledged' });
  });

  it('unacknowledges back to triggered and reopens a resolved incident, clearing the undone stamps', () => {
    const unacked = apply(incident(), [
      ['acknowledge', 2_000],
      ['unacknowledge', 3_000],
    ]);
    expect(unacked).toMatchObject({ state: 'triggered', acknowledgedAt: null });
    const reopened = apply(incident(), [
      ['resolve', 2_000],
      ['reopen', 3_000],
    ]);
    expect(reopened).toMatchObject({ state: 'triggered', resolvedAt: null, version: 3 });
  });

  it('refuses to close an open incident and to change a closed or cancelled one', () => {
    expect(transitionIncident(incident(), command('close'), 2_000).ok).toBe(false);
    const cancelled = apply(incident(), [['cancel', 2_000]]);
    expect(transitionIncident(cancelled, command('reopen'), 3_000)).toEqual({
      ok: false,
      reason: 'the incident is cancelled; nothing can change it any more',
    });
  });

  it("stamps a command dated before the incident's latest time at that time", () => {
    const acked = apply(incident({ lastAlertAt: 9_000 }), [['acknowledge', 5_000]]);
    expect(acked.acknowledgedAt).toBe(9_000);
  });
});

const kinds: readonly IncidentCommand['kind'][] = [
  'acknowledge',
  'unacknowledge',
  'mitigate',
  'resolve',
  'reopen',
  'close',
  'cancel',
];
const steps = fc.array(fc.tuple(fc.constantFrom(...kinds), fc.integer({ min: -5_000, max: 10_000 })), {
  maxLength: 30,
});

const stamps = (i: Incident): number[] =>
  [i.createdAt, i.acknowledgedAt, i.mitigatedAt, i.resolvedAt, i.closedAt].filter(
    (t): t is number => t !== null,
  );

describe('transitionIncident (properties)', () => {
  it('keeps closed and cancelled terminal, stamps in order, and grows the version with every accepted command', () => {
    fc.assert(
      fc.property(steps, (run) => {
        let current = incident();
        let clock = current.createdAt;
        for (const [kind, dt] of run) {
          clock += dt;
          const result = transitionIncident(current, command(kind), clock);
          if (current.state === 'closed' || current.state === 'cancelled') {
            expect(result.ok).toBe(false);
            continue;
          }
          if (!result.ok) continue;
          const next = result.incident;
          expect(next.version).toBe(current.version + 1);
          const s = stamps(next);
          for (let i = 1; i < s.length; i += 1) expect(s[i]).toBeGreaterThanOrEqual(s[i - 1]!);
          if (next.cancelledAt !== null)
            expect(next.cancelledAt).toBeGreaterThanOrEqual(Math.max(...stamps(current)));
          current = next;
        }
      }),
    );
  });
});
