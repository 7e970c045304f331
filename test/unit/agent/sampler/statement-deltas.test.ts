import { describe, expect, it } from 'vitest';
import { diff } from '../../../../src/agent/targets/postgres/statement-deltas.js';

const totals = (calls: number, totalExecMs: number, rows: number) => ({ calls, totalExecMs, rows });

describe('pg_stat_statements deltas', () => {
  it('keeps only statements that ran since the previous read, with what they added', () => {
    const before = new Map([
      ['1', totals(10, 100, 10)],
      ['2', totals(5, 50, 5)],
    ]);
    const after = new Map([
      ['1', totals(12, 130, 14)],
      ['2', totals(5, 50, 5)],
      ['3', totals(1, 2, 0)],
    ]);
    expect(diff(before, after)).toEqual([
      { queryId: '1', calls: 2, totalExecMs: 30, rows: 4 },
      { queryId: '3', calls: 1, totalExecMs: 2, rows: 0 },
    ]);
  });

  it('counts a statement whose counters went down (reset or evicted) from zero', () => {
    expect(diff(new Map([['1', totals(10, 100, 10)]]), new Map([['1', totals(3, 9, 3)]]))).toEqual([
      { queryId: '1', calls: 3, totalExecMs: 9, rows: 3 },
    ]);
  });
});
