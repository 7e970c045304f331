import { describe, expect, it } from 'vitest';
import { checkDemoIncident } from '../../../demo/demo-checks.js';
import type { IncidentDetail } from '../../../demo/hindsight-client.js';

const FIX_AT = 1_000_000;

const passing = (): IncidentDetail => ({
  incident: {
    id: 'incident_1',
    service: 'shop',
    groupKey: 'shop',
    title: 'Deadlocks on shop-db',
    summary:
      '254 deadlocks between job restock (demo/shop/restock-job.ts:46: `INSERT INTO inventory …`) and POST /checkout (demo/shop/checkout.ts:89: `UPDATE products …`) on shop-db; 28% of users affected (56 of 200); began 0 min after deploy v2',
    severity: 'critical',
    state: 'resolved',
    createdAt: FIX_AT - 30_000,
    acknowledgedAt: null,
    mitigatedAt: null,
    resolvedAt: FIX_AT + 16_000,
    closedAt: null,
    cancelledAt: null,
    lastAlertAt: FIX_AT + 16_000,
    version: 9,
  },
  timeline: [
    {
      id: 't1',
      incidentId: 'incident_1',
      at: FIX_AT - 20_000,
      actor: 'system',
      kind: 'escalated',
      text: 'step 2 of shop-oncall — team:database: paging dora via terminal',
      deadEnd: false,
      alertId: null,
      data: {},
    },
  ],
  alerts: [],
  evidence: [],
  impact: { affectedUsers: 56, activeUsers: 200, share: 0.28, windowMs: 95_000 },
  attribution: [],
  onsetDeploy: { version: 'v2', at: FIX_AT - 31_000, minutesBeforeOnset: 0 },
});

describe("hindsight demo --ci's verdict on the final incident", () => {
  it('holds for the incident the seed calls for', () => {
    expect(checkDemoIncident(passing(), { incidentsOpened: 1, fixAt: FIX_AT })).toEqual([]);
  });

  it('says what is wrong, one sentence per failed check', () => {
    const d = passing();
    const bad: IncidentDetail = {
      ...d,
      incident: {
        ...d.incident,
        state: 'triggered',
        resolvedAt: null,
        summary: '3 deadlocks between `UPDATE inventory …` and `UPDATE products …` on shop-db',
      },
      timeline: [],
      impact: { affectedUsers: 100, activeUsers: 200, share: 0.5, windowMs: 1 },
      onsetDeploy: null,
    };
    const problems = checkDemoIncident(bad, { incidentsOpened: 2, fixAt: FIX_AT });
    expect(problems).toHaveLength(7);
    expect(problems.join('\n')).toMatch(/2 incidents were opened/);
    expect(problems.join('\n')).toMatch(/does not name checkout's UPDATE products/);
    expect(problems.join('\n')).toMatch(/does not name the restock job's INSERT INTO inventory/);
    expect(problems.join('\n')).toMatch(/onset deploy is missing/);
    expect(problems.join('\n')).toMatch(/impact is 50% of users; expected 20–40%/);
    expect(problems.join('\n')).toMatch(/no escalation to the database team/);
    expect(problems.join('\n')).toMatch(/is triggered, not resolved/);
  });

  it('a resolution before the fix deploy is not the fix working', () => {
    const d = passing();
    const early = { ...d, incident: { ...d.incident, resolvedAt: FIX_AT - 1 } };
    expect(checkDemoIncident(early, { incidentsOpened: 1, fixAt: FIX_AT })).toEqual([
      'the incident resolved before the fix deploy',
    ]);
  });

  it('no incident at all: not detected', () => {
    expect(checkDemoIncident(null, { incidentsOpened: 0, fixAt: null })).toEqual([
      'no incident was opened: Hindsight did not detect the outage',
    ]);
  });
});
