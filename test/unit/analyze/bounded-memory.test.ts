import { describe, expect, it } from 'vitest';
import { buildReport } from '../../../src/analyze/analysis-report.js';
import { LIMITS, OTHER_KEY } from '../../../src/analyze/analysis-state.js';
import { LogAggregator } from '../../../src/analyze/log-aggregator.js';

const base = { severity: 'LOG', user: 'app', database: 'shop', application: 'api' } as const;
/** Letters only: error messages are grouped with their numbers taken out. */
const name = (i: number): string => i.toString(26).replace(/[0-9]/g, (d) => 'qrstuvwxyz'[Number(d)] ?? '');

describe('bounded memory', () => {
  it('caps distinct fingerprints and error messages, counts the rest under (other) and says so', () => {
    const aggregator = new LogAggregator();
    const distinct = LIMITS.fingerprints + 500;
    for (let i = 0; i < distinct; i++) {
      aggregator.observe({
        ...base,
        kind: 'duration',
        at: 1_000 * i,
        pid: i % 100,
        durationMs: 1,
        statement: `SELECT * FROM t${i}`,
        parameters: null,
      });
      aggregator.observe({
        ...base,
        severity: 'ERROR',
        kind: 'error',
        at: 1_000 * i,
        pid: i % 100,
        sqlstate: null,
        message: `relation "${name(i)}" does not exist`,
        statement: null,
      });
    }
    const state = aggregator.finish();
    expect(state.slow.size).toBe(LIMITS.fingerprints + 1);
    expect(state.slow.get(OTHER_KEY)?.durations.count).toBe(500);
    expect(state.errors.size).toBe(LIMITS.errorGroups + 1);
    const report = buildReport(state, { inputs: [], since: null, until: null });
    expect(report.slowQueries.all.count).toBe(distinct);
    expect(report.errors.total).toBe(distinct);
    expect(report.overflow.fingerprints).toBe(500);
    expect(report.overflow.errorGroups).toBe(distinct - LIMITS.errorGroups);
  });

  it('ends every wait it counted: a wait still open at the end of the log ends as unknown', () => {
    const aggregator = new LogAggregator();
    const wait = {
      ...base,
      at: 10_000,
      pid: 7,
      mode: 'ShareLock',
      object: 'transaction 9',
      afterMs: 50,
      holders: [8],
      queue: [7],
      statement: 'UPDATE t SET x = 1',
      relation: 't',
    };
    aggregator.observe({ ...wait, kind: 'lock-wait-started' });
    aggregator.observe({ ...wait, pid: 9, kind: 'lock-wait-started' });
    aggregator.observe({ ...wait, at: 10_400, kind: 'lock-wait-ended', ending: 'acquired', afterMs: 450 });
    const report = buildReport(aggregator.finish(), { inputs: [], since: null, until: null });
    expect(report.blocking.waits).toBe(2);
    expect(report.blocking.endings.acquired).toBe(1);
    expect(report.blocking.endings.unknown).toBe(1);
    expect(report.blocking.blockers[0]).toMatchObject({ pid: 8, waits: 2, waitMs: 450 });
  });
});
