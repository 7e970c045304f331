import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openIncident } from '../../../src/core/alert-correlation.js';
import {
  initialEscalation,
  stepEscalation,
  type EscalationPolicy,
  type EscalationState,
} from '../../../src/core/escalation.js';
import type { Incident, IncidentCommand } from '../../../src/core/incident.js';
import { transitionIncident } from '../../../src/core/incident-transition.js';

const MIN = 60_000;
const policy: EscalationPolicy = {
  name: 'shop-oncall',
  steps: [
    {
      afterMs: 0,
      targets: [
        { kind: 'schedule', name: 'primary' },
        { kind: 'channel', name: 'ops-hook' },
      ],
    },
    { afterMs: 5 * MIN, targets: [{ kind: 'team', name: 'database' }] },
  ],
  repeat: 1,
  ackExpiresMs: 30 * MIN,
};
const incident = openIncident({
  id: 'i1',
  service: 'shop',
  groupKey: 'shop',
  title: 't',
  summary: 's',
  severity: 'critical',
  at: 0,
});
const apply = (i: Incident, command: IncidentCommand, at: number): Incident => {
  const r = transitionIncident(i, command, at);
  return r.ok ? r.incident : i;
};

describe('stepEscalation', () => {
  it('pages step 1 at once, step 2 after 5 minutes, repeats once, then is exhausted', () => {
    let state = initialEscalation(incident);
    const first = stepEscalation(state, { policy, incident, now: 0 });
    expect(first.effects).toEqual([
      {
        kind: 'page',
        step: { run: 0, round: 0, index: 0 },
        targets: policy.steps[0]?.targets,
        manual: false,
      },
    ]);
    state = first.state;
    expect(stepEscalation(state, { policy, incident, now: 5 * MIN - 1 }).effects).toEqual([]);
    const second = stepEscalation(state, { policy, incident, now: 5 * MIN });
    expect(second.effects.map((e) => (e.kind === 'page' ? e.step.index : e.kind))).toEqual([1]);
    state = second.state;
    const repeat = stepEscalation(state, { policy, incident, now: 10 * MIN });
    expect(repeat.effects).toMatchObject([{ kind: 'page', step: { round: 1, index: 0 } }]);
    const last = stepEscalation(repeat.state, { policy, incident, now: 16 * MIN });
    expect(last.effects.map((e) => e.kind)).toEqual(['page', 'exhausted']);
    expect(last.state.kind).toBe('exhausted');
    expect(stepEscalation(last.state, { policy, incident, now: 60 * MIN }).effects).toEqual([]);
  });

  it('stops on acknowledgement, announces it once, and restarts from step 1 when it expires', () => {
    const paged = stepEscalation(initialEscalation(incident), { policy, incident, now: 0 }).state;
    const acked = apply(incident, { kind: 'acknowledge' }, 2 * MIN);
    const a = stepEscalation(paged, { policy, incident: acked, now: 2 * MIN });
    expect(a.effects).toEqual([{ kind: 'announce', what: 'acknowledged' }]);
    expect(a.state).toEqual({ kind: 'acknowledged', run: 0, acknowledgedAt: 2 * MIN, expiresAt: 32 * MIN });
    expect(stepEscalation(a.state, { policy, incident: acked, now: 10 * MIN }).effects).toEqual([]);
    const expired = stepEscalation(a.state, { policy, incident: acked, now: 32 * MIN });
    expect(expired.effects).toMatchObject([
      { kind: 'unacknowledge' },
      { kind: 'page', step: { run: 1, round: 0, index: 0 } },
    ]);
    // The cycle applies the unacknowledge; the next look at it changes nothing.
    const again = apply(acked, { kind: 'unacknowledge' }, 32 * MIN);
    expect(stepEscalation(expired.state, { policy, incident: again, now: 32 * MIN }).effects).toEqual([]);
  });

  it('stops everything on resolution and announces it once', () => {
    const paged = stepEscalation(initialEscalation(incident), { policy, incident, now: 0 }).state;
    const resolved = apply(incident, { kind: 'resolve' }, MIN);
    const r = stepEscalation(paged, { policy, incident: resolved, now: MIN });
    expect(r.effects).toEqual([{ kind: 'announce', what: 'resolved' }]);
    expect(stepEscalation(r.state, { policy, incident: resolved, now: 99 * MIN }).effects).toEqual([]);
  });

  it('escalates by hand: the next step at once, later steps keep their delays from it', () => {
    const paged = stepEscalation(initialEscalation(incident), { policy, incident, now: 0 }).state;
    const now = stepEscalation(paged, { policy, incident, now: MIN, escalateNow: true });
    expect(now.effects).toMatchObject([{ kind: 'page', step: { index: 1 }, manual: true }]);
    // Round 2 begins one round length (10m) after the shifted start: 5m after the manual step.
    expect(stepEscalation(now.state, { policy, incident, now: 6 * MIN - 1 }).effects).toEqual([]);
    expect(stepEscalation(now.state, { policy, incident, now: 6 * MIN }).effects).toMatchObject([
      { kind: 'page', step: { round: 1, index: 0 } },
    ]);
  });

  it('escalating by hand while acknowledged pages, and the acknowledgement is not announced again', () => {
    const paged = stepEscalation(initialEscalation(incident), { policy, incident, now: 0 }).state;
    const acked = apply(incident, { kind: 'acknowledge' }, MIN);
    const a = stepEscalation(paged, { policy, incident: acked, now: MIN });
    const manual = stepEscalation(a.state, { policy, incident: acked, now: 2 * MIN, escalateNow: true });
    expect(manual.effects).toMatchObject([{ kind: 'page', step: { run: 1, index: 0 }, manual: true }]);
    const after = stepEscalation(manual.state, { policy, incident: acked, now: 2 * MIN });
    expect(after.effects).toEqual([]);
    expect(after.state.kind).toBe('acknowledged');
  });

  it('an incident first seen after its whole policy would have run starts paging now, not with every overdue step at once', () => {
    const old = stepEscalation(initialEscalation(incident, policy, 3 * 60 * MIN), {
      policy,
      incident,
      now: 3 * 60 * MIN,
    });
    expect(old.effects.map((e) => (e.kind === 'page' ? `${e.step.round}/${e.step.index}` : e.kind))).toEqual([
      '0/0',
    ]);
    const recent = stepEscalation(initialEscalation(incident, policy, 6 * MIN), {
      policy,
      incident,
      now: 6 * MIN,
    });
    expect(
      recent.effects.map((e) => (e.kind === 'page' ? `${e.step.round}/${e.step.index}` : e.kind)),
    ).toEqual(['0/0', '0/1']);
  });

  it('property: nobody is paged twice for one step of one incident, whatever happens and however often the cycle runs', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 20 * MIN }) }),
      fc.record({
        kind: fc.constantFrom(
          'acknowledge' as const,
          'unacknowledge' as const,
          'resolve' as const,
          'reopen' as const,
          'mitigate' as const,
        ),
        dt: fc.integer({ min: 0, max: 5 * MIN }),
      }),
      fc.record({ kind: fc.constant('escalate' as const), dt: fc.integer({ min: 0, max: MIN }) }),
    );
    const policies = fc.record({
      afters: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 0, maxLength: 4 }),
      repeat: fc.integer({ min: 0, max: 3 }),
      ackExpires: fc.option(fc.integer({ min: 1, max: 40 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        policies,
        fc.array(event, { maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        (p, events, repeatRuns) => {
          const afters = [...p.afters].sort((a, b) => a - b);
          const pol: EscalationPolicy = {
            name: 'p',
            steps: afters.map((a) => ({ afterMs: a * MIN, targets: [{ kind: 'user', name: 'u' }] })),
            repeat: p.repeat,
            ackExpiresMs: p.ackExpires === null ? null : p.ackExpires * MIN,
          };
          let inc = incident;
          let state: EscalationState = initialEscalation(inc);
          let now = 0;
          const paged = new Set<string>();
          const cycle = (escalateNow: boolean): void => {
            // The cycle may run several times at one instant (replicas, nudges): only the first may page.
            for (let i = 0; i < repeatRuns; i += 1) {
              const out = stepEscalation(state, {
                policy: pol,
                incident: inc,
                now,
                escalateNow: escalateNow && i === 0,
              });
              state = out.state;
              for (const effect of out.effects) {
                if (effect.kind === 'unacknowledge') inc = apply(inc, { kind: 'unacknowledge' }, now);
                if (effect.kind !== 'page') continue;
                const key = `${effect.step.run}/${effect.step.round}/${effect.step.index}`;
                expect(paged.has(key), `step ${key} paged twice`).toBe(false);
                paged.add(key);
              }
            }
          };
          for (const e of events) {
            now += e.dt;
            if (e.kind === 'tick') cycle(false);
            else if (e.kind === 'escalate') cycle(true);
            else {
              inc = apply(inc, { kind: e.kind }, now);
              cycle(false);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
