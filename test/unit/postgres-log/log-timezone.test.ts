import { describe, expect, it } from 'vitest';
import { parseLogTimezone } from '../../../src/postgres-log/log-timezone.js';
import { TimestampParser } from '../../../src/postgres-log/log-timestamp.js';

describe('parseLogTimezone', () => {
  it.each([
    ['Asia/Kolkata', { kind: 'zone', name: 'Asia/Kolkata' }],
    ['America/Chicago', { kind: 'zone', name: 'America/Chicago' }],
    ['+05:30', { kind: 'offset', minutes: 330 }],
    ['-0300', { kind: 'offset', minutes: -180 }],
    ['UTC+8', { kind: 'offset', minutes: 480 }],
    ['-03', { kind: 'offset', minutes: -180 }],
    ['UTC', { kind: 'offset', minutes: 0 }],
  ])('%s', (text, zone) => {
    expect(parseLogTimezone(text)).toEqual({ zone });
  });

  it.each(['Mars/Olympus', 'IST', '+25:00', ''])('%j is refused with what to pass', (text) => {
    const parsed = parseLogTimezone(text);
    expect('error' in parsed ? parsed.error : '').toMatch(
      /--log-timezone ".*" is (neither|not|an abbreviation)/,
    );
  });
});

describe('TimestampParser with a zone', () => {
  const at = (parser: TimestampParser, text: string): string =>
    new Date(parser.parseDateTime(text) ?? Number.NaN).toISOString();

  it('IST is India with Asia/Kolkata, Ireland by default (and then said to be ambiguous)', () => {
    const india = new TimestampParser({ timezone: { kind: 'zone', name: 'Asia/Kolkata' } });
    expect(at(india, '2026-11-24 05:19:43.017 IST')).toBe('2026-11-23T23:49:43.017Z');
    expect(india.ambiguousZones.size).toBe(0);
    const plain = new TimestampParser();
    expect(at(plain, '2026-11-24 05:19:43.017 IST')).toBe('2026-11-24T04:19:43.017Z');
    expect([...plain.ambiguousZones]).toEqual(['IST']);
  });

  it('CST is China with Asia/Shanghai, and the US Central zone with America/Chicago in winter', () => {
    const china = new TimestampParser({ timezone: { kind: 'zone', name: 'Asia/Shanghai' } });
    expect(at(china, '2026-11-24 07:49:43 CST')).toBe('2026-11-23T23:49:43.000Z');
    const chicago = new TimestampParser({ timezone: { kind: 'zone', name: 'America/Chicago' } });
    expect(at(chicago, '2026-11-23 17:49:43 CST')).toBe('2026-11-23T23:49:43.000Z');
  });

  it('an unambiguous abbreviation and a numeric offset keep their own meaning whatever the zone', () => {
    const parser = new TimestampParser({ timezone: { kind: 'zone', name: 'Asia/Kolkata' } });
    expect(at(parser, '2026-11-23 23:49:43 UTC')).toBe('2026-11-23T23:49:43.000Z');
    expect(at(parser, '2026-11-24 00:49:43 CET')).toBe('2026-11-23T23:49:43.000Z');
    expect(at(parser, '2026-11-23 20:49:43 -03')).toBe('2026-11-23T23:49:43.000Z');
  });

  it('a fixed offset reads an abbreviation it does not know', () => {
    const parser = new TimestampParser({ timezone: { kind: 'offset', minutes: 345 } });
    expect(at(parser, '2026-11-24 05:34:43 NPT')).toBe('2026-11-23T23:49:43.000Z');
    expect(parser.unknownZones.size).toBe(0);
  });
});
