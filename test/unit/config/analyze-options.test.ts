import { describe, expect, it } from 'vitest';
import { parseAnalyzeOptions } from '../../../src/config/analyze-options.js';
import { HindsightError } from '../../../src/core/errors.js';

const problemsOf = (run: () => unknown): string => {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(HindsightError);
    expect((e as HindsightError).code).toBe('ANALYZE_BAD_OPTIONS');
    expect((e as HindsightError).kind).toBe('user');
    return (e as HindsightError).message;
  }
  throw new Error('expected the options to be refused');
};

describe('analyze options', () => {
  it('applies the defaults', () => {
    expect(parseAnalyzeOptions(['pg.log'], {})).toEqual({
      files: ['pg.log'],
      since: null,
      until: null,
      logPrefix: null,
      format: 'auto',
      output: 'text',
      htmlFile: null,
      top: 25,
      jobs: 2,
      progress: true,
      year: null,
      logTimezone: null,
    });
  });

  it('--log-timezone: an IANA zone or an offset; an abbreviation or an unknown name is refused', () => {
    expect(parseAnalyzeOptions(['pg.log'], { logTimezone: 'Asia/Kolkata' }).logTimezone).toEqual({
      kind: 'zone',
      name: 'Asia/Kolkata',
    });
    expect(parseAnalyzeOptions(['pg.log'], { logTimezone: '+05:30' }).logTimezone).toEqual({
      kind: 'offset',
      minutes: 330,
    });
    expect(() => parseAnalyzeOptions(['pg.log'], { logTimezone: 'CST' })).toThrow(/"CST" is an abbreviation/);
    expect(() => parseAnalyzeOptions(['pg.log'], { logTimezone: 'Europe/Atlantis' })).toThrow(
      /neither an IANA time zone nor an offset/,
    );
  });

  it('reads times as UTC unless they carry a zone, and numbers from text', () => {
    const o = parseAnalyzeOptions(['a.log'], {
      since: '2026-03-01 15:00',
      until: '2026-03-01T17:00:00+01:00',
      top: '5',
      jobs: '0',
      year: '2025',
      md: true,
    });
    expect(o.since).toBe(Date.UTC(2026, 2, 1, 15));
    expect(o.until).toBe(Date.UTC(2026, 2, 1, 16));
    expect(o).toMatchObject({ top: 5, jobs: 0, year: 2025, output: 'md' });
  });

  it('reports every problem at once, each naming its flag', () => {
    const message = problemsOf(() =>
      parseAnalyzeOptions([], {
        since: 'yesterday',
        logFormat: 'xml' as never,
        top: '0',
        jobs: 'two',
        year: '26',
        json: true,
        md: true,
      }),
    );
    expect(message).toContain('invalid options:');
    for (const part of [
      'give at least one log file',
      '--since "yesterday" is not a time',
      '--log-format must be one of auto, stderr, csvlog, jsonlog, syslog, journald',
      '--top must be a whole number from 1 to 1000, not "0"',
      '--jobs must be a whole number from 0 to 16, not "two"',
      '--year must be a year such as 2026, not "26"',
      '--json and --md: choose one',
    ])
      expect(message).toContain(part);
  });

  it('refuses an empty window and stdin twice', () => {
    expect(
      problemsOf(() =>
        parseAnalyzeOptions(['a.log'], { since: '2026-03-01 16:00', until: '2026-03-01 15:00' }),
      ),
    ).toBe('--since must be before --until');
    expect(problemsOf(() => parseAnalyzeOptions(['-', '-'], {}))).toBe('stdin (-) can be given only once');
  });
});
