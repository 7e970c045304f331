import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { type AnalyzeFlags, parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { createLogReader } from '../../../src/postgres-log/log-reader.js';
import { csvRecords, stderrFromCsv } from '../../fixtures/analyze/csv-reshape.js';
import {
  toCloudnativePg,
  toCloudSqlEntries,
  toAzureRecords,
  toHerokuLogplex,
  toRdsPortions,
} from '../../fixtures/analyze/platform-shapes.js';
import { escapeControls, writeSyslog } from '../../fixtures/analyze/syslog-shapes.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze');
const work = mkdtempSync(join(tmpdir(), 'hindsight-platform-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const analyze = (file: string, flags: AnalyzeFlags = {}): Promise<AnalysisReport> =>
  runAnalysis(parseAnalyzeOptions([file], { progress: false, jobs: '0', ...flags }), {
    stderr: process.stderr,
  });

/** What must not change when the same entries come in a platform's layout. */
const counts = (report: AnalysisReport) => ({
  deadlocks: report.deadlocks.total,
  deadlockSignature: report.deadlocks.groups[0]?.signature,
  waits: report.blocking.waits,
  endings: report.blocking.endings,
  timeouts: report.timeouts,
  errors: Object.fromEntries(report.errors.groups.map((g) => [`${g.sqlstate} ${g.message}`, g.count])),
  errorTotal: report.errors.total,
  slowQueries: report.slowQueries.all.count,
  victims: report.slowQueries.groups.map((g) => [g.fingerprint, g.victims]),
  sessions: report.sessions.authorized,
  disconnections: report.sessions.disconnections,
  checkpoints: report.checkpoints.completed,
});

// Built from the recorded PostgreSQL 18 and 15 runs (jsonlog and csvlog of the same server) in
// each platform's documented layout (test/fixtures/analyze/platform-shapes.ts): every count equals
// the csvlog twin's.
describe.each(['recorded', 'recorded-pg15'])("%s/: the run in managed platforms' layouts", (fixture) => {
  const recorded = join(fixtures, fixture);
  const expected = analyze(join(recorded, 'postgresql.csv')).then(counts);
  const write = (name: string, text: string): string => {
    const file = join(work, `${fixture}-${name}`);
    writeFileSync(file, text);
    return file;
  };

  it('CloudNativePG (kubectl logs of an instance pod): detected, same counts as the csvlog', async () => {
    const file = write('cnpg.log', toCloudnativePg(readFileSync(join(recorded, 'postgresql.json'), 'utf8')));
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toBe('cloudnative-pg');
    expect(report.inputs[0]?.warnings).toEqual([]);
    const got = counts(report);
    expect(got).toEqual(await expected);
    expect(got.deadlocks).toBeGreaterThan(0);
    expect(got.errorTotal).toBeGreaterThan(0);
    // The instance manager's own lines are not PostgreSQL's: skipped without a warning.
    expect(report.inputs[0]?.skipped).toEqual({});
    const reader = createLogReader({ format: 'auto' });
    const events = [...reader.push(readFileSync(file)), ...reader.end()];
    expect(reader.stats.skipped['other-logger']).toBeGreaterThan(0);
    expect(reader.stats.skipped['invalid-json']).toBe(0);
    expect(events.length).toBe(
      readFileSync(join(recorded, 'postgresql.json'), 'utf8').trim().split('\n').length,
    );
  });

  it('CloudNativePG with --log-format cloudnative-pg, cut for two workers: same counts', async () => {
    const file = write(
      'cnpg-2.log',
      toCloudnativePg(readFileSync(join(recorded, 'postgresql.json'), 'utf8')),
    );
    const report = await runAnalysis(
      parseAnalyzeOptions([file], { progress: false, jobs: '2', logFormat: 'cloudnative-pg' }),
      { stderr: process.stderr, splitMinBytes: 1 },
    );
    expect(counts(report)).toEqual(await expected);
  });

  it("Google Cloud SQL (Cloud Logging entries, its prefix '%m [%p]: [%l-1] db=%d,user=%u '): detected, same counts", async () => {
    const stderr = stderrFromCsv(csvRecords(readFileSync(join(recorded, 'postgresql.csv'), 'utf8')), {
      prefix: '%m [%p]: [%l-1] db=%d,user=%u ',
      zone: 'UTC',
      offsetMinutes: 0,
    });
    const file = write('cloudsql.json', toCloudSqlEntries(stderr));
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toBe("cloudsql '%m [%p]: [%l-1] db=%d,user=%u '");
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
    const byFlag = await analyze(file, {
      logFormat: 'cloudsql',
      logPrefix: '%m [%p]: [%l-1] db=%d,user=%u ',
    });
    expect(counts(byFlag)).toEqual(await expected);
    const pretty = write('cloudsql-gcloud.json', toCloudSqlEntries(stderr, { prettyArray: true }));
    expect(readFileSync(pretty, 'utf8')).toMatch(/^\[\n {2}\{\n {4}"insertId"/);
    const fromGcloud = await analyze(pretty);
    expect(fromGcloud.inputs[0]?.format).toBe("cloudsql '%m [%p]: [%l-1] db=%d,user=%u '");
    expect(fromGcloud.inputs[0]?.warnings).toEqual([]);
    expect(counts(fromGcloud)).toEqual(await expected);
  });

  it('Heroku (logplex lines of app[postgres.PID], [seq-chunk], its prefix) : detected, same counts', async () => {
    const records = csvRecords(readFileSync(join(recorded, 'postgresql.csv'), 'utf8'));
    const text = toHerokuLogplex(
      records,
      (record) =>
        stderrFromCsv([[...record]], { prefix: ' sql_error_code = %e ', zone: 'UTC', offsetMinutes: 0 }),
      (entry, seq) => writeSyslog(entry, seq, { sequenceNumbers: true, split: true }).map(escapeControls),
    );
    expect(text).toMatch(
      / app\[postgres\.\d+\]: \[DATABASE\] \[\d+-1\] {2}sql_error_code = 40P01 ERROR: {2}deadlock detected/,
    );
    const file = write('heroku.log', text);
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toBe("heroku 'sql_error_code = %e '");
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
    // A syslog drain's lines (RFC 5424, no structured data), for the same calls.
    const drain = write(
      'heroku-drain.log',
      text.replace(/^(\S+) app\[postgres\.(\d+)\]: /gm, '<134>1 $1 d.2f6a1c app postgres.$2 - '),
    );
    expect(readFileSync(drain, 'utf8')).toMatch(
      /^<134>1 \S+ d\.2f6a1c app postgres\.\d+ - \[DATABASE\] \[1\] {2}sql/,
    );
    const fromDrain = await analyze(drain);
    expect(fromDrain.inputs[0]?.format).toBe("heroku 'sql_error_code = %e '");
    expect(fromDrain.inputs[0]?.warnings).toEqual([]);
    expect(counts(fromDrain)).toEqual(await expected);
  });

  it.each(['storage', 'log-analytics'] as const)(
    "Azure flexible server diagnostic logs (%s layout, prefix '%%t-%%c-'): detected, the pid read from %%c, same counts",
    async (layout) => {
      const records = csvRecords(readFileSync(join(recorded, 'postgresql.csv'), 'utf8'));
      const file = write(`azure-${layout}.json`, toAzureRecords(records, layout));
      const report = await analyze(file);
      expect(report.inputs[0]?.format).toBe("azure '%t-%c-'");
      expect(report.inputs[0]?.warnings).toEqual([]);
      // The documented fields have no STATEMENT, and '%t' no milliseconds: every count holds all the same.
      const got = counts(report);
      expect(got).toEqual(await expected);
      expect(got.deadlocks).toBeGreaterThan(0);
      const byFlag = await analyze(file, { logFormat: 'azure' });
      expect(counts(byFlag)).toEqual(counts(report));
    },
  );

  it("AWS RDS / Aurora ('%t:%r:%u@%d:[%p]:'): the console's file, and the JSON of aws rds download-db-log-file-portion in portions: detected, same counts", async () => {
    const records = csvRecords(readFileSync(join(recorded, 'postgresql.csv'), 'utf8'));
    const stderr = stderrFromCsv(records, { prefix: '%t:%r:%u@%d:[%p]:', zone: 'UTC', offsetMinutes: 0 });
    const plain = await analyze(write('postgresql.log.2026-11-23-23', stderr));
    expect(plain.inputs[0]?.format).toBe("stderr '%t:%r:%u@%d:[%p]:'");
    expect(counts(plain)).toEqual(await expected);
    const json = toRdsPortions(stderr, 37);
    expect(json).toMatch(/^\{\n {4}"LogFileData": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:/);
    const file = write('rds-portions.json', json);
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toBe("rds '%t:%r:%u@%d:[%p]:'");
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
    // Two workers asked for: the file is read whole (no line of it starts an entry).
    const shared = await runAnalysis(
      parseAnalyzeOptions([file], { progress: false, jobs: '2', logFormat: 'rds' }),
      { stderr: process.stderr, splitMinBytes: 1 },
    );
    expect(counts(shared)).toEqual(await expected);
  });
});
