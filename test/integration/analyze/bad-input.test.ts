import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAnalyzeOptions, type AnalyzeFlags } from '../../../src/analyze/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { isHindsightError } from '../../../src/core/errors.js';

const recorded = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze/recorded');
const stderrLog = readFileSync(join(recorded, 'postgresql.log'));
const jsonLog = readFileSync(join(recorded, 'postgresql.json'));
const DEADLOCKS = 6;
const work = mkdtempSync(join(tmpdir(), 'hindsight-analyze-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const file = (name: string, content: Buffer | string): string => {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
};
const analyze = (paths: string[], flags: AnalyzeFlags = {}) => runAnalysis(parseAnalyzeOptions(paths, { progress: false, jobs: '0', ...flags }), { stderr: process.stderr });
const failure = async (paths: string[], flags: AnalyzeFlags = {}): Promise<{ code: string; message: string }> => {
  try {
    await analyze(paths, flags);
  } catch (error) {
    if (isHindsightError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a user error');
};

describe('bad input', () => {
  it('binary garbage: a user error that says nothing was recognised and what to try, not a crash', async () => {
    const { code, message } = await failure([file('garbage.bin', randomBytes(2 << 20))]);
    expect(code).toBe('ANALYZE_NOTHING_RECOGNISED');
    expect(message).toMatch(/0 entries recognised in .*garbage\.bin: is this a PostgreSQL log\? .*--log-prefix/);
  });

  it('a prefix that matches nothing: says so, with how many lines were skipped', async () => {
    const { message } = await failure([file('prefix.log', stderrLog)], { logPrefix: '%t <%p> ' });
    expect(message).toMatch(/0 entries recognised/);
    expect(message).toMatch(/\d[\d,]* lines not matching the log_line_prefix '%t <%p> ' were skipped/);
  });

  it('a truncated gzip file: analyzes what could be read and warns', async () => {
    const gz = gzipSync(stderrLog);
    const report = await analyze([file('cut.log.gz', gz.subarray(0, Math.floor(gz.length * 0.7)))]);
    expect(report.entries).toBeGreaterThan(10);
    expect(report.inputs[0]?.warnings.join(' ')).toMatch(/ends early \(truncated file\?\)/);
  });

  it('a whole gzip file reads like the plain one; several files add up', async () => {
    const plain = await analyze([join(recorded, 'postgresql.log')]);
    const gz = await analyze([file('whole.log.gz', gzipSync(stderrLog))]);
    expect({ ...gz, inputs: [] }).toEqual({ ...plain, inputs: [] });
    // Two different logs (this run's stderr, PostgreSQL 15's run as csvlog); the same run's log
    // in two formats is counted once (test/unit/analyze/log-twins.test.ts).
    const both = await analyze([join(recorded, 'postgresql.log'), join(recorded, '../recorded-pg15/postgresql.csv')]);
    expect(both.deadlocks.total).toBe(2 * DEADLOCKS);
    expect(both.inputs.map((i) => i.format)).toEqual(["stderr '%m [%p] %q%u@%d/%a '", 'csvlog']);
  });

  it('a truncated plain file (cut mid-entry) and a multi-MB line: counted, skipped lines reported', async () => {
    const cut = stderrLog.subarray(0, Math.floor(stderrLog.length / 2) + 7);
    const half = await analyze([file('half.log', cut)]);
    expect(half.entries).toBeGreaterThan(10);
    const middle = stderrLog.indexOf('\n', Math.floor(stderrLog.length / 3)) + 1;
    const huge = Buffer.concat([stderrLog.subarray(0, middle), Buffer.from(`${'x'.repeat(5 << 20)}\n`), stderrLog.subarray(middle)]);
    const report = await analyze([file('huge-line.log', huge)]);
    expect(report.deadlocks.total).toBe(DEADLOCKS);
    expect(report.inputs[0]?.skipped['lines not matching the log_line_prefix']).toBe(1);
    expect(report.inputs[0]?.warnings.join(' ')).toMatch(/1 line not matching the log_line_prefix .* was skipped/);
  });

  it('mixed formats in one file: the other format is skipped and counted, the rest analyzed', async () => {
    const report = await analyze([file('mixed.log', Buffer.concat([stderrLog, jsonLog]))]);
    expect(report.deadlocks.total).toBe(DEADLOCKS);
    const skipped = report.inputs[0]?.skipped['lines not matching the log_line_prefix'] ?? 0;
    expect(skipped).toBe(jsonLog.toString('utf8').trimEnd().split('\n').length);
  });

  it('an unknown locale: entries counted by severity, and a warning that says to set lc_messages', async () => {
    const german = stderrLog.toString('utf8').replaceAll(' ERROR:  ', ' FEHLER:  ').replaceAll(' LOG:  ', ' LOG:  ');
    const report = await analyze([file('de.log', german)], { logPrefix: '%m [%p] %q%u@%d/%a ' });
    expect(report.entries).toBeGreaterThan(100);
    expect(report.inputs[0]?.warnings.join(' ')).toMatch(/\d+ entries have a non-English severity.*lc_messages/);
  });

  it('a missing file or a directory: a user error naming it', async () => {
    expect((await failure([join(work, 'nope.log')])).code).toBe('ANALYZE_INPUT_UNREADABLE');
    expect((await failure([work])).code).toBe('ANALYZE_INPUT_IS_DIRECTORY');
    expect((await failure([join(recorded, 'postgresql.log')], { since: 'yesterday-ish' })).message).toMatch(/--since "yesterday-ish" is not a time/);
  });
});
