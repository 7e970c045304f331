import { describe, expect, it } from 'vitest';
import { describeIncidentLoad, incidentLoadOf } from '../../../src/core/incident-load.js';
import { summarizeIncident } from '../../../src/core/incident-summary.js';
import type { SeriesPoint, SeriesValues } from '../../../src/core/metrics-series.js';
import { alert, episode, root } from '../../support/finding-builder.js';

const T0 = 1_800_000_000_000;
const point = (at: number, values: SeriesValues, target = 'shop-db'): SeriesPoint => ({
  target,
  at,
  resolutionMs: 10_000,
  samples: 10,
  values,
});

describe('the incident load: working or waiting', () => {
  const storm = episode('ep-1', T0, { roots: [root(4242, { blockedCount: 14, state: 'active' })] });

  it('takes the busiest interval of the span, the roots of its blocking episodes and the host CPU', () => {
    const load = incidentLoadOf(
      [
        point(T0 - 10_000, { active_cpu: 3, host_cpu_busy: 0.4 }),
        point(T0, { active_cpu: 4, active_lock: 9, active_io: 1, host_cpu_busy: 0.91 }),
        point(T0 + 10_000, { active_cpu: 4, active_lock: 5 }),
        point(T0, { active_cpu: 2 }, 'other-db'),
      ],
      [storm, episode('ep-2', T0, { target: 'other-db', roots: [root(7, { blockedCount: 99 })] })],
    );
    expect(load).toEqual({
      target: 'shop-db',
      at: T0,
      resolutionMs: 10_000,
      active: 14,
      lockWaiting: 9,
      onCpu: 4,
      io: 1,
      otherWait: 0,
      behind: [{ pid: 4242, waiters: 14 }],
      cpuBusy: 0.91,
    });
    expect(describeIncidentLoad(load ?? ({} as never))).toBe(
      'CPU 91%; 64% of active backends waited on locks behind pid 4242; the slow queries are victims',
    );
  });

  it('says who worked when few waited, and nothing when no backend was active', () => {
    const busy = incidentLoadOf([point(T0, { active_cpu: 9.4, active_io: 2.6, active_lock: 1 })], []);
    expect(describeIncidentLoad(busy ?? ({} as never))).toBe(
      '8% of active backends waited on locks; 92% were working',
    );
    expect(incidentLoadOf([point(T0, { active_cpu: 0, sessions_idle: 40 })], [])).toBeNull();
  });

  it('is a clause of the summary, after the findings, with the metric alerts', () => {
    const load = incidentLoadOf([point(T0, { active_cpu: 2, active_lock: 8 })], [storm]);
    const summary = summarizeIncident({
      findings: [storm],
      alerts: [
        alert({
          id: 'a1',
          rule: 'statement_latency',
          fingerprint: 'rule:statement_latency:shop-db:7',
          summary:
            '`SELECT … FROM orders …` on shop-db: mean 48 ms over 1 min, 6× its baseline 8 ms (60 calls)',
        }),
      ],
      load,
    });
    expect(summary).toMatch(
      /on shop-db; .*; 80% of active backends waited on locks behind pid 4242; the slow queries are victims; `SELECT … FROM orders …` on shop-db: mean 48 ms/,
    );
  });
});
