import { describe, expect, it } from 'vitest';
import { TimestampParser } from '../../../src/postgres-log/log-timestamp.js';

// The parser remembers the last second and the last zone to skip work on the next line; these
// check that what it remembers never leaks into a line that differs.
describe('TimestampParser', () => {
  it('reads consecutive lines whose second, zone or both change', () => {
    const times = new TimestampParser();
    const lines: [string, number][] = [
      ['2026-03-01 15:00:00.250 UTC', Date.UTC(2026, 2, 1, 15, 0, 0, 250)],
      ['2026-03-01 15:00:00.999 UTC', Date.UTC(2026, 2, 1, 15, 0, 0, 999)],
      ['2026-03-01 15:00:00.999 CET', Date.UTC(2026, 2, 1, 14, 0, 0, 999)],
      ['2026-03-01 15:00:01.000 CET', Date.UTC(2026, 2, 1, 14, 0, 1, 0)],
      ['2026-03-01 15:00:01.000 +0530', Date.UTC(2026, 2, 1, 9, 30, 1, 0)],
      ['2026-03-01 15:00:01.000 +05:30', Date.UTC(2026, 2, 1, 9, 30, 1, 0)],
      ['2026-03-01 15:00:01', Date.UTC(2026, 2, 1, 15, 0, 1)],
      ['2026-03-01 15:00:01 UTC', Date.UTC(2026, 2, 1, 15, 0, 1)],
      ['2026-03-01 15:00:01.000 UTC', Date.UTC(2026, 2, 1, 15, 0, 1)],
      ['2027-03-01 15:00:01.000 UTC', Date.UTC(2027, 2, 1, 15, 0, 1)],
    ];
    for (const [text, expected] of lines) expect(times.parseDateTime(text), text).toBe(expected);
  });

  it('gives null for text that is not a date-time, and reads it again after one', () => {
    const times = new TimestampParser();
    expect(times.parseDateTime('2026-03-01 15:00:00.000 UTC')).toBe(Date.UTC(2026, 2, 1, 15));
    expect(times.parseDateTime('not a time at all, no')).toBeNull();
    expect(times.parseDateTime('2026-03-0')).toBeNull();
    expect(times.parseDateTime('2026-03-01 15:00:00.000 UTC')).toBe(Date.UTC(2026, 2, 1, 15));
  });

  it('reads an unknown zone as UTC and names it once', () => {
    const times = new TimestampParser();
    expect(times.parseDateTime('2026-03-01 15:00:00.000 XYZT')).toBe(Date.UTC(2026, 2, 1, 15));
    expect(times.parseDateTime('2026-03-01 15:00:00.500 XYZT')).toBe(Date.UTC(2026, 2, 1, 15, 0, 0, 500));
    expect([...times.unknownZones]).toEqual(['XYZT']);
  });
});
