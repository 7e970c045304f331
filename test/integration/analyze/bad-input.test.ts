import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAnalyzeOptions, type AnalyzeFlags } from '../../../src/config/analyze-options.js';
import { describeSpan } from '../../../src/analyze/report-format.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { renderText } from '../../../src/analyze/text-report.js';
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
const analyze = (paths: string[], flags: AnalyzeFlags = {}) =>
  runAnalysis(parseAnalyzeOptions(paths, { progress: false, jobs: '0', ...flags }), {
    stderr: process.stderr,
  });
const failure = async (
  paths: string[],
  flags: AnalyzeFlags = {},
): Promise<{ code: string; message: string }> => {
  try {
    await analyze(paths, flags);
  } catch (error) {
    if (isHindsightError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a user error');
};

describe('bad input', () => {
  it('binary garbage: a user error that says it is binary, in one line of plain text, not a crash', async () => {
    const garbage = randomBytes(2 << 20);
    garbage[100] = 0; // random bytes almost surely hold a NUL early; make it certain
    const { code, message } = await failure([file('garbage.bin', garbage)]);
    expect(code).toBe('ANALYZE_INPUT_BINARY');
    expect(message).toMatch(/garbage\.bin is a binary file .*not a PostgreSQL server log/);
    // eslint-disable-next-line no-control-regex -- no raw bytes may reach the terminal
    expect(message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('control characters of a skipped line are escaped in the warning, never sent to the terminal', async () => {
    const { message } = await failure([file('escapes.log', 'junk \u001b[31mred\u0007\n')]);
    expect(message).toContain('e.g. "junk \\x1b[31mred\\x07"');
    // eslint-disable-next-line no-control-regex -- no raw bytes may reach the terminal
    expect(message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('an empty file is called empty, not "not a PostgreSQL log?"', async () => {
    const { message } = await failure([file('empty.log', '')]);
    expect(message).toMatch(/empty\.log is empty \(0 bytes\)/);
    expect(message).not.toMatch(/is this a PostgreSQL log/);
    const withOther = await analyze([file('empty2.log', ''), join(recorded, 'postgresql.log')]);
    expect(withOther.inputs[0]?.warnings).toEqual([
      `${join(work, 'empty2.log')} is empty (0 bytes): nothing to analyze in it`,
    ]);
  });

  it('--since past the end says the files\' real span, not "from ? to ?"', async () => {
    const report = await analyze([join(recorded, 'postgresql.log')], { since: '2030-01-01' });
    expect(report.entries).toBe(0);
    expect(describeSpan(report)).toBe(
      '0 entries in the window since 2030-01-01 00:00:00 UTC (the files span 2026-11-23 23:49:43 UTC to 2026-11-23 23:49:47 UTC: they end before the window starts)',
    );
    expect(renderText(report, { color: false })).not.toContain('from ? to ?');
  });

  it('connections by application name come from "connection authorized" (where %a is still [unknown])', async () => {
    const report = await analyze([join(recorded, 'postgresql.log')]);
    // The one (unknown) is the recorder's own connection, which set no application_name.
    expect(report.sessions.byApplication).toEqual({ '(unknown)': 1, checkout: 1, report: 1, restock: 1 });
    expect(report.blocking.blockers.map((b) => b.application)).toEqual(['report', 'restock']);
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
    const both = await analyze([
      join(recorded, 'postgresql.log'),
      join(recorded, '../recorded-pg15/postgresql.csv'),
    ]);
    expect(both.deadlocks.total).toBe(2 * DEADLOCKS);
    expect(both.inputs.map((i) => i.format)).toEqual(["stderr '%m [%p] %q%u@%d/%a '", 'csvlog']);
  });

  it('a truncated plain file (cut mid-entry) and a multi-MB line: counted, skipped lines reported', async () => {
    const cut = stderrLog.subarray(0, Math.floor(stderrLog.length / 2) + 7);
    const half = await analyze([file('half.log', cut)]);
    expect(half.entries).toBeGreaterThan(10);
    const middle = stderrLog.indexOf('\n', Math.floor(stderrLog.length / 3)) + 1;
    const huge = Buffer.concat([
      stderrLog.subarray(0, middle),
      Buffer.from(`${'x'.repeat(5 << 20)}\n`),
      stderrLog.subarray(middle),
    ]);
    const report = await analyze([file('huge-line.log', huge)]);
    expect(report.deadlocks.total).toBe(DEADLOCKS);
    expect(report.inputs[0]?.skipped['lines not matching the log_line_prefix']).toBe(1);
    expect(report.inputs[0]?.warnings.join(' ')).toMatch(
      /1 line not matching the log_line_prefix .* was skipped/,
    );
  });

  it('mixed formats in one file: the other format is skipped and counted, the rest analyzed', async () => {
    const report = await analyze([file('mixed.log', Buffer.concat([stderrLog, jsonLog]))]);
    expect(report.deadlocks.total).toBe(DEADLOCKS);
    const skipped = report.inputs[0]?.skipped['lines not matching the log_line_prefix'] ?? 0;
    expect(skipped).toBe(jsonLog.toString('utf8').trimEnd().split('\n').length);
  });

  it('an unknown locale: entries counted by severity, and a warning that says to set lc_messages', async () => {
    const german = stderrLog
      .toString('utf8')
      .replaceAll(' ERROR:  ', ' FEHLER:  ')
      .replaceAll(' LOG:  ', ' LOG:  ');
    const report = await analyze([file('de.log', german)], { logPrefix: '%m [%p] %q%u@%d/%a ' });
    expect(report.entries).toBeGreaterThan(100);
    expect(report.inputs[0]?.warnings.join(' ')).toMatch(
      /\d+ entries have a non-English severity.*lc_messages/,
    );
  });

  it('a missing file or a directory: a user error naming it', async () => {
    expect((await failure([join(work, 'nope.log')])).code).toBe('ANALYZE_INPUT_UNREADABLE');
    expect((await failure([work])).code).toBe('ANALYZE_INPUT_IS_DIRECTORY');
    expect((await failure([join(recorded, 'postgresql.log')], { since: 'yesterday-ish' })).message).toMatch(
      /--since "yesterday-ish" is not a time/,
    );
  });
});
