import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../../src/analyze/analysis-report.js';
import { type AnalyzeFlags, parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { runAnalysis } from '../../../src/analyze/run-analysis.js';
import {
  recordedEntries,
  toJournalJson,
  toJournalShortIso,
  toSyslog,
  type SyslogOptions,
} from '../../fixtures/analyze/syslog-shapes.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/analyze');
const work = mkdtempSync(join(tmpdir(), 'hindsight-syslog-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const analyze = (file: string, flags: AnalyzeFlags = {}): Promise<AnalysisReport> =>
  runAnalysis(parseAnalyzeOptions([file], { progress: false, jobs: '0', ...flags }), {
    stderr: process.stderr,
  });

/** What must not change when the same entries come in another envelope. */
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

// Syslog and journald files built from the same real recordings as recorded-logs.test.ts (PostgreSQL
// 18 and Debian's 15), in the layouts rsyslog, journald and PostgreSQL's write_syslog document.
describe.each(['recorded', 'recorded-pg15'])('%s/ in syslog and journald envelopes', (fixture) => {
  const original = join(fixtures, fixture, 'postgresql.log');
  const entries = recordedEntries(readFileSync(original, 'utf8'));
  const expected = analyze(original).then(counts);

  const write = (name: string, text: string): string => {
    const file = join(work, `${fixture}-${name}`);
    writeFileSync(file, text);
    return file;
  };

  const shapes: [string, SyslogOptions][] = [
    [
      'traditional, [seq-chunk] (Debian rsyslog defaults)',
      { shape: 'traditional', sequenceNumbers: true, split: true },
    ],
    [
      'traditional, [chunk] (syslog_sequence_numbers off)',
      { shape: 'traditional', sequenceNumbers: false, split: true },
    ],
    [
      'traditional, sent whole (syslog_split_messages off: newlines as #012)',
      { shape: 'traditional', sequenceNumbers: true, split: false },
    ],
    ['RFC 3339 time (RSYSLOG_FileFormat)', { shape: 'iso', sequenceNumbers: true, split: true }],
    ['RFC 5424 (RSYSLOG_SyslogProtocol23Format)', { shape: 'rfc5424', sequenceNumbers: true, split: true }],
  ];
  it.each(shapes)('syslog %s: detected, same counts as the stderr recording', async (name, options) => {
    const file = write(name.replace(/\W+/g, '-'), toSyslog(entries, options));
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toMatch(/^syslog '%m \[%p\] %q%u@%d(\/%a)? '$/);
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
    expect(report.deadlocks.total).toBeGreaterThan(0);
  });

  it('syslog with --log-format syslog and a prefix without time or pid: the envelope gives them (year from --year)', async () => {
    const file = write(
      'no-time',
      toSyslog(entries, {
        shape: 'traditional',
        sequenceNumbers: true,
        split: true,
        withoutTimeAndPid: true,
      }),
    );
    const report = await analyze(file, { logFormat: 'syslog', year: '2026' });
    expect(report.inputs[0]?.warnings).toEqual([]);
    const got = counts(report);
    const want = await expected;
    // Times are to the second now: which statement a wait overlapped may shift, not what was counted.
    expect({ ...got, victims: undefined }).toEqual({ ...want, victims: undefined });
    expect(report.window.first).toBe(new Date(Math.floor((entries[0]?.at ?? 0) / 1000) * 1000).toISOString());
  });

  it('traditional timestamps take their year from the file time, or --year', async () => {
    const file = write(
      'year',
      toSyslog(entries, {
        shape: 'traditional',
        sequenceNumbers: true,
        split: true,
        withoutTimeAndPid: true,
      }),
    );
    const yearOf = (report: AnalysisReport): number => new Date(report.window.first ?? 0).getUTCFullYear();
    // Written in December: November is of the same year. Last written in January: November is of the year before.
    utimesSync(file, new Date('2031-12-02T00:00:00Z'), new Date('2031-12-02T00:00:00Z'));
    expect(yearOf(await analyze(file))).toBe(2031);
    utimesSync(file, new Date('2032-01-05T00:00:00Z'), new Date('2032-01-05T00:00:00Z'));
    expect(yearOf(await analyze(file))).toBe(2031);
    const byFlag = await analyze(file, { year: '2024' });
    expect(yearOf(byFlag)).toBe(2024);
  });

  it('syslog cut for two workers at entry starts (a big file): same counts as one reader', async () => {
    const file = write(
      'workers',
      toSyslog(entries, { shape: 'traditional', sequenceNumbers: true, split: true }),
    );
    const report = await runAnalysis(parseAnalyzeOptions([file], { progress: false, jobs: '2' }), {
      stderr: process.stderr,
      splitMinBytes: 1,
    });
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
  });

  it('journalctl -o json (syslog output through journald, [seq-chunk] in MESSAGE): detected, same counts', async () => {
    const file = write('journal.json', toJournalJson(entries, { numbered: true }));
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toMatch(/^journald /);
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
  });

  it('journalctl -o json (stderr captured by journald, a record per line): same counts', async () => {
    const file = write('journal-stderr.json', toJournalJson(entries, { numbered: false }));
    const report = await analyze(file, { logFormat: 'journald' });
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
  });

  it('journalctl -o short-iso: detected, same counts', async () => {
    const file = write('journal-short-iso.log', toJournalShortIso(entries));
    const report = await analyze(file);
    expect(report.inputs[0]?.format).toMatch(/^journald /);
    expect(report.inputs[0]?.warnings).toEqual([]);
    expect(counts(report)).toEqual(await expected);
  });
});
