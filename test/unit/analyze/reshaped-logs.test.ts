import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { csvRecords, quoteEveryColumn, stderrFromCsv } from '../../fixtures/analyze/csv-reshape.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze');
const work = mkdtempSync(join(tmpdir(), 'hindsight-reshaped-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const analyze = (file: string): Promise<AnalysisReport> =>
  runAnalysis(parseAnalyzeOptions([file], { progress: false, jobs: '0' }), { stderr: process.stderr });

const counts = (report: AnalysisReport) => ({
  deadlocks: report.deadlocks.total,
  deadlockSignature: report.deadlocks.groups[0]?.signature,
  waits: report.blocking.waits,
  endings: report.blocking.endings,
  timeouts: report.timeouts,
  errors: Object.fromEntries(report.errors.groups.map((g) => [`${g.sqlstate} ${g.message}`, g.count])),
  slowQueries: report.slowQueries.all.count,
  victims: report.slowQueries.groups.map((g) => [g.fingerprint, g.victims]),
  sessions: report.sessions.authorized,
  checkpoints: report.checkpoints.completed,
});

// Prefixes users run with, each found on the first try (no --log-prefix), in UTC and in CET.
const PREFIXES: [string, string][] = [
  ['issue 13: a stderr log detection missed (CET)', '%t [%p]: [%l-1] [%x] usr=%u,db=%d,appli=%a '],
  ['pgBadger documentation (stderr)', '%t [%p]: [%l-1] user=%u,db=%d,app=%a '],
  ['pgBadger documentation (short)', '%t [%p]: [%l-1] '],
  ['Debian and Ubuntu packages', '%m [%p] %q%u@%d '],
  ['PostgreSQL 10+ default', '%m [%p] '],
  ['PostgreSQL documentation, log_line_prefix example with %e', '%m [%p] %e %q%u@%d '],
];

describe.each(['recorded', 'recorded-pg15'])('%s/postgresql.csv reshaped', (fixture) => {
  const original = join(fixtures, fixture, 'postgresql.csv');
  const records = csvRecords(readFileSync(original, 'utf8'));
  const expected = analyze(original).then(counts);

  it('csvlog with every column quoted, the log time too: detected as csvlog, same counts', async () => {
    const file = join(work, `${fixture}-quoted.csv`);
    writeFileSync(file, quoteEveryColumn(records));
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toBe('csvlog');
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
  });

  describe.each([
    { zone: 'UTC', offsetMinutes: 0 },
    { zone: 'CET', offsetMinutes: 60 },
  ])('stderr in $zone', ({ zone, offsetMinutes }) => {
    it.each(PREFIXES)('%s (%s): the prefix found on the first try, same counts', async (_source, prefix) => {
      const file = join(work, `${fixture}-${zone}-${prefix.replace(/\W+/g, '_')}.log`);
      writeFileSync(file, stderrFromCsv(records, { prefix, zone, offsetMinutes }));
      const report = await analyze(file);
      // `%x` and `%l` are both a number no event carries: a reading of one as the other reads the same.
      expect(report.inputs[0]?.format.replace('%x', '%l')).toBe(`stderr '${prefix.replace('%x', '%l')}'`);
      expect(report.inputs[0]?.warnings).toEqual([]);
      expect(counts(report)).toEqual(await expected);
      // In the zone the log was written in, read back to UTC (to the second with %t).
      const first = Date.parse(`${(records[0]?.[0] ?? '').slice(0, 23).replace(' ', 'T')}Z`);
      expect(report.window.first).toBe(
        new Date(prefix.startsWith('%t') ? Math.floor(first / 1000) * 1000 : first).toISOString(),
      );
    });
  });
});
