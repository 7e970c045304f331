import { describe, expect, it } from 'vitest';
import {
  instantOf,
  localTime,
  onCallAt,
  parseHandoff,
  rotationShift,
  type Rotation,
  type Schedule,
} from '../../../src/core/on-call-schedule.js';

const at = (iso: string): number => Date.parse(iso);
const weekly = (handoff: string, users: string[], start: string | null = null): Rotation => {
  const parsed = parseHandoff(handoff, 'week');
  if (!parsed.ok) throw new Error(parsed.reason);
  return { every: 'week', weekday: parsed.weekday, handoffMinute: parsed.minute, users, start };
};
const daily = (handoff: string, users: string[], start: string | null = null): Rotation => {
  const parsed = parseHandoff(handoff, 'day');
  if (!parsed.ok) throw new Error(parsed.reason);
  return { every: 'day', weekday: null, handoffMinute: parsed.minute, users, start };
};
const schedule = (rotation: Rotation, extra: Partial<Schedule> = {}): Schedule => ({
  name: 'primary',
  timeZone: 'Europe/Berlin',
  layers: [{ rotation, from: null, until: null }],
  overrides: [],
  ...extra,
});

describe('on-call schedules', () => {
  it('reads the wall clock of a zone and maps it back, across both DST changes in Europe/Berlin', () => {
    expect(localTime(at('2026-03-29T00:59:00Z'), 'Europe/Berlin').minute).toBe(119); // 01:59 CET
    expect(localTime(at('2026-03-29T01:00:00Z'), 'Europe/Berlin').minute).toBe(180); // 03:00 CEST
    const day = localTime(at('2026-03-29T12:00:00Z'), 'Europe/Berlin').day;
    expect(new Date(instantOf({ day, minute: 9 * 60 }, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-29T07:00:00.000Z',
    );
    expect(new Date(instantOf({ day: day - 1, minute: 9 * 60 }, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-28T08:00:00.000Z',
    );
    // 02:30 does not exist that night: the hand-off happens when the clocks jump, 03:00 CEST.
    expect(new Date(instantOf({ day, minute: 150 }, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    const october = localTime(at('2026-10-25T12:00:00Z'), 'Europe/Berlin').day;
    // 02:30 happens twice: the first one (CEST).
    expect(new Date(instantOf({ day: october, minute: 150 }, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    expect(new Date(instantOf({ day: october, minute: 9 * 60 }, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-25T08:00:00.000Z',
    );
  });

  it('hands a weekly rotation over at 09:00 local time on the last Sunday of March (07:00 UTC, not 08:00)', () => {
    const primary = schedule(weekly('Sun 09:00', ['alice', 'bob'], '2026-03-22'));
    expect(onCallAt(primary, at('2026-03-29T06:59:00Z')).user).toBe('alice');
    const after = onCallAt(primary, at('2026-03-29T07:00:00Z'));
    expect(after.user).toBe('bob');
    expect(after.from).toBe(at('2026-03-29T07:00:00Z'));
    expect(after.until).toBe(at('2026-04-05T07:00:00Z'));
    expect(onCallAt(primary, at('2026-03-22T08:00:00Z')).user).toBe('alice'); // 09:00 CET the week before
    expect(onCallAt(primary, at('2026-03-22T07:59:00Z')).user).toBe('bob');
  });

  it('hands a weekly rotation over at 09:00 local time on the last Sunday of October (08:00 UTC, not 07:00)', () => {
    const primary = schedule(weekly('Sun 09:00', ['alice', 'bob'], '2026-10-18'));
    expect(onCallAt(primary, at('2026-10-25T07:00:00Z')).user).toBe('alice'); // 08:00 CET
    expect(onCallAt(primary, at('2026-10-25T07:59:00Z')).user).toBe('alice');
    expect(onCallAt(primary, at('2026-10-25T08:00:00Z')).user).toBe('bob');
    expect(onCallAt(primary, at('2026-10-18T07:00:00Z')).user).toBe('alice'); // 09:00 CEST the week before
  });

  it('hands a daily rotation over at a time that does not exist that night (02:30) when the clocks jump', () => {
    const night = schedule(daily('02:30', ['alice', 'bob', 'carol'], '2026-03-28'));
    expect(onCallAt(night, at('2026-03-29T00:59:00Z')).user).toBe('alice');
    expect(onCallAt(night, at('2026-03-29T01:00:00Z')).user).toBe('bob');
    expect(onCallAt(night, at('2026-03-30T00:29:00Z')).user).toBe('bob');
    expect(onCallAt(night, at('2026-03-30T00:30:00Z')).user).toBe('carol');
  });

  it('counts shifts from the start date, before it too', () => {
    const r = daily('09:00', ['a', 'b', 'c'], '2026-01-10');
    expect(rotationShift(r, 'UTC', at('2026-01-10T09:00:00Z')).user).toBe('a');
    expect(rotationShift(r, 'UTC', at('2026-01-10T08:59:00Z')).user).toBe('c');
    expect(rotationShift(r, 'UTC', at('2026-01-13T10:00:00Z')).user).toBe('a');
  });

  it('lets the latest override win, and later layers win over earlier ones where they apply', () => {
    const base = weekly('Mon 09:00', ['alice', 'bob'], '2026-06-01');
    const primary: Schedule = {
      name: 'primary',
      timeZone: 'Europe/Berlin',
      layers: [
        { rotation: base, from: null, until: null },
        {
          rotation: daily('09:00', ['zoe']),
          from: at('2026-06-03T00:00:00Z'),
          until: at('2026-06-04T00:00:00Z'),
        },
      ],
      overrides: [
        { user: 'carol', from: at('2026-06-02T10:00:00Z'), until: at('2026-06-02T12:00:00Z') },
        { user: 'dan', from: at('2026-06-02T11:00:00Z'), until: at('2026-06-02T13:00:00Z') },
      ],
    };
    expect(onCallAt(primary, at('2026-06-02T09:00:00Z'))).toMatchObject({
      user: 'alice',
      until: at('2026-06-02T10:00:00Z'),
    });
    expect(onCallAt(primary, at('2026-06-02T10:30:00Z'))).toMatchObject({
      user: 'carol',
      source: 'override',
    });
    expect(onCallAt(primary, at('2026-06-02T11:30:00Z')).user).toBe('dan');
    expect(onCallAt(primary, at('2026-06-02T12:30:00Z')).user).toBe('dan');
    expect(onCallAt(primary, at('2026-06-03T12:00:00Z')).user).toBe('zoe');
    expect(onCallAt(primary, at('2026-06-04T12:00:00Z')).user).toBe('alice');
  });

  it('refuses hand-offs it cannot read, saying how to write them', () => {
    expect(parseHandoff('Monday 9:00', 'week')).toEqual({ ok: true, weekday: 1, minute: 540 });
    expect(parseHandoff('25:00', 'day').ok).toBe(false);
    expect(parseHandoff('09:00', 'week').ok).toBe(false);
    expect(parseHandoff('Mon 09:00', 'day').ok).toBe(false);
  });
});
