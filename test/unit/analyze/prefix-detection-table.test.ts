import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import { csvRecords } from '../../fixtures/analyze/csv-reshape.js';
import { PREFIX_TABLE, renderStderr, shiftFor, ZONE_TABLE } from '../../fixtures/analyze/prefix-table.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze');
const work = mkdtempSync(join(tmpdir(), 'hindsight-prefix-table-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const analyze = (file: string, logTimezone?: string): Promise<AnalysisReport> =>
  runAnalysis(
    parseAnalyzeOptions([file], {
      progress: false,
      jobs: '0',
      ...(logTimezone === undefined ? {} : { logTimezone }),
    }),
    { stderr: process.stderr },
  );

/** Everything the csvlog twin of the run gives, that the stderr rendering must give too. */
const counts = (report: AnalysisReport) => ({
  entries: report.inputs[0]?.entries,
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
  checkpoints: report.checkpoints.completed,
});

/** Two prefixes read the same when they differ only in escapes whose values no event carries. */
const reading = (prefix: string): string => prefix.replace(/%[xlv]/g, '%N');

it('the table has at least 30 distinct prefixes, each with a named source', () => {
  expect(new Set(PREFIX_TABLE.map((row) => row.prefix)).size).toBeGreaterThanOrEqual(30);
  for (const row of PREFIX_TABLE) expect(row.source.length).toBeGreaterThan(10);
});

describe.each(['recorded', 'recorded-pg15'])('%s/postgresql.csv as stderr', (fixture) => {
  const original = join(fixtures, fixture, 'postgresql.csv');
  const records = csvRecords(readFileSync(original, 'utf8'));
  const expected = analyze(original).then(counts);

  describe.each(ZONE_TABLE.map((zone) => ({ ...zone, label: zone.name })))('log_timezone $label', (zone) => {
    const shiftMs = shiftFor(records, zone);
    it.each(PREFIX_TABLE.map((row) => [row.prefix, row.source, row.withoutPid === true] as const))(
      "'%s' (%s): detected on the first try, the csvlog's counts, times read back to UTC",
      async (prefix, _source, withoutPid) => {
        const file = join(
          work,
          `${fixture}-${zone.name.replace(/\W+/g, '_')}-${prefix.replace(/\W+/g, '_')}.log`,
        );
        writeFileSync(file, renderStderr(records, { prefix, zone, shiftMs }));
        const report = await analyze(file, zone.logTimezone);
        const format = report.inputs[0]?.format ?? '';
        expect(reading(format)).toBe(reading(`stderr '${prefix}'`));
        expect(report.inputs[0]?.warnings).toEqual([]);
        if (withoutPid) {
          // Without the pid, a timeout's ERROR cannot be tied to the wait it ended: every other count holds.
          const { endings: _e, victims: _v, ...rest } = counts(report);
          const { endings: _ee, victims: _vv, ...expectedRest } = await expected;
          expect(rest).toEqual(expectedRest);
        } else expect(counts(report)).toEqual(await expected);
        // Both sides of a daylight-saving switch read back to the recording's instants.
        const times = records.map((r) => Date.parse(`${(r[0] ?? '').slice(0, 23).replace(' ', 'T')}Z`));
        const first = Math.min(...times) + shiftMs;
        const last = Math.max(...times) + shiftMs;
        const seconds = prefix.includes('%t');
        const expectTime = (ms: number) =>
          new Date(seconds ? Math.floor(ms / 1000) * 1000 : ms).toISOString();
        expect(report.window.first).toBe(expectTime(first));
        expect(report.window.last).toBe(expectTime(last));
      },
    );
  });
});

describe('an abbreviation several zones share (IST, CST)', () => {
  const original = join(fixtures, 'recorded', 'postgresql.csv');
  const records = csvRecords(readFileSync(original, 'utf8'));
  const first = Math.min(
    ...records
      .map((r) => Date.parse(`${(r[0] ?? '').slice(0, 23).replace(' ', 'T')}Z`))
      .filter((t) => !Number.isNaN(t)),
  );

  it.each([
    ['Asia/Kolkata (IST)', 'Asia/Kolkata', '+05:30'],
    ['Asia/Shanghai (CST)', 'Asia/Shanghai', '+08:00'],
  ])(
    '%s without --log-timezone: read by the default table, and the warning names the flag to pass',
    async (name, zoneName, offset) => {
      const zone = ZONE_TABLE.find((z) => z.name === name);
      if (zone === undefined) throw new Error(`no zone ${name}`);
      const file = join(work, `ambiguous-${zoneName.replace('/', '-')}.log`);
      writeFileSync(file, renderStderr(records, { prefix: '%m [%p] %q%u@%d ', zone, shiftMs: 0 }));
      const report = await analyze(file);
      const warning = report.inputs[0]?.warnings.find((w) => w.includes('ambiguous')) ?? '';
      expect(warning).toContain(`--log-timezone ${zoneName}`);
      expect(warning).toContain(`--log-timezone ${offset}`);
      // Read as another zone: the window is hours off.
      expect(report.window.first).not.toBe(new Date(first).toISOString());
      // The offset form reads the same as the zone.
      const withOffset = await analyze(file, offset);
      expect(withOffset.inputs[0]?.warnings).toEqual([]);
      expect(withOffset.window.first).toBe(new Date(first).toISOString());
    },
  );

  it('--log-timezone that is neither a zone nor an offset is refused with what to pass', () => {
    expect(() => parseAnalyzeOptions([original], { logTimezone: 'Mars/Olympus' })).toThrow(
      /--log-timezone "Mars\/Olympus" is neither an IANA time zone nor an offset.*SHOW log_timezone/,
    );
  });
});

describe('a prefix that does not read every line', () => {
  it('the warning shows the two best readings, with the lines each read, and the exact flags', async () => {
    const original = join(fixtures, 'recorded', 'postgresql.csv');
    const records = csvRecords(readFileSync(original, 'utf8'));
    const utc = ZONE_TABLE[0];
    if (utc === undefined) throw new Error('no UTC');
    // log_line_prefix changed by a reload part way: most of the file in one, the rest in another.
    const cut = Math.floor(records.length * 0.7);
    const text =
      renderStderr(records.slice(0, cut), { prefix: '%m [%p] %q%u@%d ', zone: utc, shiftMs: 0 }) +
      renderStderr(records.slice(cut), { prefix: '%t:%r:%u@%d:[%p]:', zone: utc, shiftMs: 0 });
    const file = join(work, 'changed-prefix.log');
    writeFileSync(file, text);
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toBe("stderr '%m [%p] %q%u@%d '");
    const doubt =
      report.inputs[0]?.warnings.find((w) => w.startsWith('the log_line_prefix is not certain')) ?? '';
    expect(doubt).toMatch(
      /'%m \[%p\] %q%u@%d ' \(\d+ of \d+ lines\) and '%t:%r:%u@%d:\[%p\]:' \(\d+ of \d+ lines\)/,
    );
    expect(doubt).toContain("--log-format stderr --log-prefix '%t:%r:%u@%d:[%p]:'");
  });

  it('when no reading covers half the lines, the refusal names the two best and the flags to pass', async () => {
    const original = join(fixtures, 'recorded', 'postgresql.csv');
    const records = csvRecords(readFileSync(original, 'utf8'));
    const utc = ZONE_TABLE[0];
    if (utc === undefined) throw new Error('no UTC');
    // Three servers' logs in one file, a third each.
    const third = Math.floor(records.length / 3);
    const file = join(work, 'three-prefixes.log');
    writeFileSync(
      file,
      renderStderr(records.slice(0, third), { prefix: '%m [%p] %q%u@%d ', zone: utc, shiftMs: 0 }) +
        renderStderr(records.slice(third, 2 * third), {
          prefix: '%t:%r:%u@%d:[%p]:',
          zone: utc,
          shiftMs: 0,
        }) +
        renderStderr(records.slice(2 * third), { prefix: '%m %u %d: ', zone: utc, shiftMs: 0 }),
    );
    await expect(analyze(file)).rejects.toThrow(
      /0 entries recognised.*the best readings of the first lines are '%t:%r:%u@%d:\[%p\]:' \(\d+ of 391 lines\) and '%m \[%p\] %q%u@%d ' \(\d+ of 391 lines\).*--log-format stderr --log-prefix '%t:%r:%u@%d:\[%p\]:' or --log-format stderr --log-prefix '%m \[%p\] %q%u@%d '/,
    );
  });
});
