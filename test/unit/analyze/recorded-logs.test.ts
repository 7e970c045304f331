import type { WorkloadTruth } from '../../fixtures/analyze/log-workload.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze');

const bySqlstate = (report: AnalysisReport, code: string): number =>
  report.errors.groups.filter((g) => g.sqlstate === code).reduce((n, g) => n + g.count, 0);

// The same workload recorded by two majors (embedded 18, Debian's 15): message forms differ between
// them (`Parameters:`/`parameters:`, csvlog columns, connection lines), the counts must not.
describe.each([
  { major: 18, fixture: 'recorded' },
  { major: 15, fixture: 'recorded-pg15' },
])('PostgreSQL $major ($fixture/)', ({ major, fixture }) => {
  const dir = join(fixtures, fixture);
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as WorkloadTruth;

  /** An independent count: lines of the stderr log that match a distinctive message. */
  const stderrLines = readFileSync(join(dir, 'postgresql.log'), 'utf8').split('\n');
  const grep = (pattern: RegExp): number => stderrLines.filter((line) => pattern.test(line)).length;

  const analyze = (file: string): Promise<AnalysisReport> =>
    runAnalysis(parseAnalyzeOptions([join(dir, file)], { progress: false, jobs: '0' }), {
      stderr: process.stderr,
    });

  describe.each(['postgresql.log', 'postgresql.csv', 'postgresql.json'])(
    'analyze %s (recorded from a real server)',
    (file) => {
      it('counts what the clients saw and what a line scan finds', async () => {
        const report = await analyze(file);
        expect(report.inputs[0]?.warnings).toEqual([]);
        expect(report.deadlocks.total).toBe(truth.deadlocks);
        expect(report.deadlocks.total).toBe(grep(/ ERROR: {2}deadlock detected$/));
        expect(report.blocking.waits).toBe(
          grep(/ LOG: {2}process \d+ (still waiting for|detected deadlock while waiting for) /),
        );
        expect(report.blocking.endings).toEqual({
          acquired: grep(/ LOG: {2}process \d+ acquired /),
          deadlock: truth.deadlocks,
          'lock-timeout': truth.lockTimeouts,
          'statement-timeout': truth.statementTimeoutsWhileWaiting,
          cancel: truth.cancelsWhileWaiting,
          error: 0,
          unknown: 0,
        });
        expect(report.timeouts.lockTimeouts).toBe(truth.lockTimeouts);
        expect(report.timeouts.statementTimeouts).toBe(truth.statementTimeouts);
        expect(report.timeouts.cancels).toBe(truth.cancelsWhileWaiting);
        expect(report.timeouts.serializationFailures).toBe(truth.serializationFailures);
        for (const [code, n] of Object.entries(truth.errors)) expect(bySqlstate(report, code), code).toBe(n);
        expect(report.errors.total).toBe(Object.values(truth.errors).reduce((a, b) => a + b, 0));
        expect(report.slowQueries.all.count).toBe(
          grep(/ LOG: {2}duration: [\d.]+ ms {2}(statement|execute [^:]*):/),
        );
        expect(report.sessions.authorized).toBe(grep(/ LOG: {2}connection authorized/));
        expect(report.sessions.disconnections).toBe(grep(/ LOG: {2}disconnection: /));
        // The `checkpoint complete` line grew between majors (SLRU buffers, lsn in 17+).
        expect(report.checkpoints.started).toBe(grep(/ LOG: {2}checkpoint starting: /));
        expect(report.checkpoints.completed).toBe(grep(/ LOG: {2}checkpoint complete: /));
        const buffers = stderrLines.map(
          (line) => / LOG: {2}checkpoint complete: wrote (\d+) buffers/.exec(line)?.[1],
        );
        expect(report.checkpoints.buffers).toBe(buffers.reduce((n, b) => n + Number(b ?? 0), 0));
      });

      it('groups deadlocks by the statements of the cycle and marks lock-wait victims among slow queries', async () => {
        const report = await analyze(file);
        const [group] = report.deadlocks.groups;
        expect(group?.signature).toEqual([
          'UPDATE inventory SET qty = qty + $1 WHERE id = $2',
          'UPDATE products SET price = price - $1 WHERE id = $2',
        ]);
        expect(group?.count).toBe(truth.deadlocks);
        expect(group?.relations).toContain('products');
        expect(group?.example.processes).toHaveLength(2);
        expect(report.headline[0]).toMatch(new RegExp(`^${truth.deadlocks} deadlocks between `));
        const victim = report.slowQueries.groups.find(
          (g) => g.fingerprint === 'UPDATE inventory SET qty = $1 WHERE id = $2',
        );
        expect(victim?.victims).toBe(2);
        expect(victim?.lockWaitMs).toBeGreaterThan(500);
        const sleeper = report.slowQueries.groups.find((g) => g.fingerprint === 'SELECT pg_sleep($1)');
        expect(sleeper?.victims).toBe(0);
        const prepared = report.slowQueries.groups.find(
          (g) => g.fingerprint === 'SELECT qty FROM inventory WHERE id = $1 AND qty > $2',
        );
        expect(prepared?.count).toBe(6);
        expect(prepared?.parameters).toMatch(/^\$1 = '\d+', \$2 = '0'$/);
        const blocker = report.blocking.blockers[0];
        expect(blocker?.application).toBe('report');
      });
    },
  );

  describe('--since/--until', () => {
    it('splits the counts of a log between two windows without loss', async () => {
      const whole = await analyze('postgresql.log');
      const first = Date.parse(whole.window.first ?? '');
      const last = Date.parse(whole.window.last ?? '');
      const middle = new Date(Math.round((first + last) / 2)).toISOString();
      const run = (flags: { since?: string; until?: string }) =>
        runAnalysis(
          parseAnalyzeOptions([join(dir, 'postgresql.log')], { progress: false, jobs: '0', ...flags }),
          { stderr: process.stderr },
        );
      const before = await run({ until: middle });
      const after = await run({ since: middle });
      expect(before.deadlocks.total + after.deadlocks.total).toBe(whole.deadlocks.total);
      expect(before.blocking.waits + after.blocking.waits).toBe(whole.blocking.waits);
      expect(before.errors.total + after.errors.total).toBe(whole.errors.total);
      expect(before.entries + after.entries).toBe(whole.entries);
      expect(before.deadlocks.total).toBeGreaterThan(0);
      expect(after.deadlocks.total).toBeGreaterThan(0);
    });
  });

  it('is a recording of that major', () => {
    expect(grep(new RegExp(` LOG: {2}starting PostgreSQL ${major}\\.`))).toBe(1);
  });
});
