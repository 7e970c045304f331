/**
 * People and on-call schedules (paging): users, teams, rotations with a local hand-off time, layers
 * and overrides, and who is on call at an instant. Hand-offs are wall-clock times in the schedule's
 * IANA time zone, so a "Mon 09:00" hand-off stays at 09:00 across DST changes; the zone arithmetic
 * uses the standard `Intl.DateTimeFormat` (no package).
 */

export interface PagingUser {
  readonly name: string;
  readonly email: string | null;
  readonly timeZone: string | null;
  /** Channel names a page to this user goes through; empty: the default (email channels). */
  readonly contacts: readonly string[];
}

export interface Team {
  readonly name: string;
  readonly members: readonly string[];
}

/** 0 = Sunday … 6 = Saturday, as `Date#getUTCDay`. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface Rotation {
  readonly every: 'day' | 'week';
  /** The weekday of a weekly hand-off; null for a daily one. */
  readonly weekday: Weekday | null;
  /** Minutes after local midnight: 09:00 → 540. */
  readonly handoffMinute: number;
  readonly users: readonly string[];
  /**
   * The local date (`2026-01-05`) whose hand-off starts `users[0]`'s first shift; null: shifts are
   * counted from 1970-01-01 (a stable, arbitrary anchor).
   */
  readonly start: string | null;
}

/** A layer: a rotation, optionally only between two instants. Later layers win where they apply. */
export interface ScheduleLayer {
  readonly rotation: Rotation;
  readonly from: number | null;
  readonly until: number | null;
}

/** Someone covering the schedule from `from` (inclusive) to `until` (exclusive); later overrides win. */
export interface ScheduleOverride {
  readonly user: string;
  readonly from: number;
  readonly until: number;
}

export interface Schedule {
  readonly name: string;
  readonly timeZone: string;
  readonly layers: readonly ScheduleLayer[];
  readonly overrides: readonly ScheduleOverride[];
}

/** Who is on call for a schedule at an instant, and since/until when (null: not known, e.g. an override's bounds). */
export interface OnCallShift {
  readonly schedule: string;
  readonly user: string | null;
  readonly from: number | null;
  readonly until: number | null;
  readonly source: 'rotation' | 'override' | 'nobody';
}

/** A local wall-clock reading in a time zone. */
export interface LocalTime {
  /** Days since 1970-01-01 of the local date. */
  readonly day: number;
  /** Minutes after local midnight. */
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** Is `timeZone` an IANA zone this runtime knows? */
export const isTimeZone = (timeZone: string): boolean => {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
};

const DAY_MS = 86_400_000;

/** The wall clock in `timeZone` at `instant` (epoch ms): local date as a day number, and minutes. */
export const localTime = (instant: number, timeZone: string): LocalTime => {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? 0);
  const day = Math.floor(Date.UTC(get('year'), get('month') - 1, get('day')) / DAY_MS);
  return { day, minute: get('hour') * 60 + get('minute') };
};

/** Local offset from UTC (ms) in effect at `instant`. */
const offsetAt = (instant: number, timeZone: string): number => {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
};

/**
 * The instant a local wall-clock time happens in `timeZone`. A repeated time (the autumn night)
 * maps to its first occurrence; a skipped one (02:30 on the spring-forward night) to the instant
 * the clocks jumped past it (03:00 on the new clock), which is when a hand-off at that time happens.
 */
export const instantOf = (local: LocalTime, timeZone: string): number => {
  const wall = local.day * DAY_MS + local.minute * 60_000;
  // Offsets change at most once within a day around here: the one 12 h before or after applies.
  const before = wall - offsetAt(wall - DAY_MS / 2, timeZone);
  const after = wall - offsetAt(wall + DAY_MS / 2, timeZone);
  const exact = [before, after].filter((t) => offsetAt(t, timeZone) === wall - t);
  if (exact.length > 0) return Math.min(...exact);
  // In a gap: find the change between the two readings (to the minute).
  let low = Math.min(before, after);
  let high = Math.max(before, after);
  const lowOffset = offsetAt(low, timeZone);
  while (high - low > 60_000) {
    const middle = low + Math.floor((high - low) / 120_000) * 60_000;
    if (offsetAt(middle, timeZone) === lowOffset) low = middle;
    else high = middle;
  }
  return high;
};

const dayOfDateText = (date: string): number | null => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (match === null) return null;
  return Math.floor(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS);
};

/** Day 0 (1970-01-01) was a Thursday. */
const weekdayOf = (day: number): number => (((day + 4) % 7) + 7) % 7;

/** How many hand-offs have happened up to `local` since day 0 (negative before it). */
const handoffCount = (rotation: Rotation, local: LocalTime): number => {
  // The hand-off of a day has happened once its local time is reached: before it, yesterday's shift runs.
  const effective = local.day - (local.minute < rotation.handoffMinute ? 1 : 0);
  if (rotation.every === 'day') return effective;
  const firstHandoffDay = ((((rotation.weekday ?? 1) - 4) % 7) + 7) % 7;
  return Math.floor((effective - firstHandoffDay) / 7);
};

/** The day number of the hand-off with this count. */
const handoffDay = (rotation: Rotation, count: number): number => {
  if (rotation.every === 'day') return count;
  const firstHandoffDay = ((((rotation.weekday ?? 1) - 4) % 7) + 7) % 7;
  return firstHandoffDay + count * 7;
};

/** Who a rotation has on call at `instant`, with the shift's bounds. */
export const rotationShift = (
  rotation: Rotation,
  timeZone: string,
  instant: number,
): { user: string | null; from: number; until: number } => {
  const count = handoffCount(rotation, localTime(instant, timeZone));
  const startDay = rotation.start === null ? null : dayOfDateText(rotation.start);
  const startCount =
    startDay === null ? 0 : handoffCount(rotation, { day: startDay, minute: rotation.handoffMinute });
  const n = rotation.users.length;
  const index = n === 0 ? -1 : (((count - startCount) % n) + n) % n;
  return {
    user: index < 0 ? null : (rotation.users[index] ?? null),
    from: instantOf({ day: handoffDay(rotation, count), minute: rotation.handoffMinute }, timeZone),
    until: instantOf({ day: handoffDay(rotation, count + 1), minute: rotation.handoffMinute }, timeZone),
  };
};

/** Who is on call for `schedule` at `instant`: the latest override covering it, else the last layer that applies. */
export const onCallAt = (schedule: Schedule, instant: number): OnCallShift => {
  for (const override of schedule.overrides.toReversed()) {
    if (override.from <= instant && instant < override.until) {
      return {
        schedule: schedule.name,
        user: override.user,
        from: override.from,
        until: override.until,
        source: 'override',
      };
    }
  }
  for (const layer of schedule.layers.toReversed()) {
    if (layer.from !== null && instant < layer.from) continue;
    if (layer.until !== null && instant >= layer.until) continue;
    const shift = rotationShift(layer.rotation, schedule.timeZone, instant);
    if (shift.user === null) continue;
    // An override starting within the shift cuts it short.
    const nextOverride = schedule.overrides
      .filter((o) => o.from > instant && o.from < shift.until)
      .reduce((m, o) => Math.min(m, o.from), shift.until);
    const until = Math.min(nextOverride, layer.until ?? Number.POSITIVE_INFINITY);
    return {
      schedule: schedule.name,
      user: shift.user,
      from: Math.max(shift.from, layer.from ?? shift.from),
      until,
      source: 'rotation',
    };
  }
  return { schedule: schedule.name, user: null, from: null, until: null, source: 'nobody' };
};

const WEEKDAYS: Readonly<Record<string, Weekday>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

/**
 * Parses a hand-off as written in the configuration: `"Mon 09:00"` for a weekly rotation, `"09:00"`
 * for a daily one. Returns a reason when it cannot.
 */
export const parseHandoff = (
  text: string,
  every: Rotation['every'],
):
  | { readonly ok: true; readonly weekday: Weekday | null; readonly minute: number }
  | { readonly ok: false; readonly reason: string } => {
  const match = /^(?:([A-Za-z]{3})[a-z]*\s+)?(\d{1,2}):(\d{2})$/.exec(text.trim());
  const hour = Number(match?.[2]);
  const minute = Number(match?.[3]);
  if (match === null || hour > 23 || minute > 59) {
    return {
      ok: false,
      reason: `"${text}" is not a hand-off time; write "Mon 09:00" (weekly) or "09:00" (daily)`,
    };
  }
  const dayText = match[1]?.toLowerCase();
  if (every === 'day') {
    if (dayText !== undefined)
      return {
        ok: false,
        reason: `a daily rotation hands off at a time of day ("09:00"), not on a weekday ("${text}")`,
      };
    return { ok: true, weekday: null, minute: hour * 60 + minute };
  }
  const weekday = dayText === undefined ? undefined : WEEKDAYS[dayText];
  if (weekday === undefined)
    return {
      ok: false,
      reason: `a weekly rotation hands off on a weekday and time: "Mon 09:00" (got "${text}")`,
    };
  return { ok: true, weekday, minute: hour * 60 + minute };
};

/** Weekday of a local day number (exported for display). */
export const localWeekday = (day: number): Weekday => weekdayOf(day) as Weekday;
