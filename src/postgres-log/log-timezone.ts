/**
 * `--log-timezone`: the server's log_timezone, for logs whose zone abbreviations say too little.
 * PostgreSQL writes times in log_timezone with its tzdata abbreviation (`%Z`): `CET`, `EDT`, `+03`.
 * Some abbreviations name several zones (`IST` is India, Ireland or Israel; `CST` the US Central
 * zone or China): given the zone, they are read in it. Shared by `analyze` and `watch` (the option
 * is parsed here so that both say the same).
 */

/** An IANA zone (`Asia/Kolkata`: its offset at each moment) or a fixed offset (`+05:30`). */
export type LogTimezone =
  { readonly kind: 'zone'; readonly name: string } | { readonly kind: 'offset'; readonly minutes: number };

/**
 * Abbreviations that tzdata gives to zones with different offsets (minutes east of UTC); the
 * first is how they are read without `--log-timezone`.
 */
export const AMBIGUOUS_ZONES: Readonly<
  Record<string, readonly { readonly where: string; readonly minutes: number }[]>
> = {
  IST: [
    { where: 'Ireland in summer (Europe/Dublin)', minutes: 60 },
    { where: 'India (Asia/Kolkata)', minutes: 330 },
    { where: 'Israel (Asia/Jerusalem)', minutes: 120 },
  ],
  CST: [
    { where: 'US Central (America/Chicago)', minutes: -360 },
    { where: 'China (Asia/Shanghai)', minutes: 480 },
    { where: 'Cuba (America/Havana)', minutes: -300 },
  ],
  CDT: [
    { where: 'US Central (America/Chicago)', minutes: -300 },
    { where: 'Cuba (America/Havana)', minutes: -240 },
  ],
  AST: [
    { where: 'Atlantic (America/Halifax)', minutes: -240 },
    { where: 'Arabia (Asia/Riyadh)', minutes: 180 },
  ],
  BST: [
    { where: 'British Summer Time (Europe/London)', minutes: 60 },
    { where: 'Bangladesh (Asia/Dhaka)', minutes: 360 },
  ],
};

const OFFSET = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?$/i;

/** `Asia/Kolkata`, `UTC`, `+05:30`, `-0300`, `UTC+8` → the zone; null with a message for anything else. */
export function parseLogTimezone(text: string): { zone: LogTimezone } | { error: string } {
  const value = text.trim();
  const offset = OFFSET.exec(value);
  if (offset !== null) {
    const hours = Number(offset[2]);
    const minutes = Number(offset[3] ?? 0);
    if (hours > 15 || minutes > 59)
      return { error: `--log-timezone "${text}" is not an offset: use e.g. +05:30 or -03` };
    return { zone: { kind: 'offset', minutes: (hours * 60 + minutes) * (offset[1] === '-' ? -1 : 1) } };
  }
  if (/^(?:UTC|GMT|Z)$/i.test(value)) return { zone: { kind: 'offset', minutes: 0 } };
  // ICU takes `IST` or `CST` for one zone of the several they name: the very doubt this option ends.
  if (/^[A-Za-z]{2,5}$/.test(value))
    return {
      error: `--log-timezone "${text}" is an abbreviation, which several zones may share: pass the IANA zone (SHOW log_timezone), e.g. Asia/Kolkata, or an offset such as +05:30`,
    };
  try {
    // Throws a RangeError for a name the runtime's tz database does not know.
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return { zone: { kind: 'zone', name: value } };
  } catch {
    return {
      error: `--log-timezone "${text}" is neither an IANA time zone nor an offset: use the server's log_timezone (SHOW log_timezone), e.g. Asia/Kolkata, America/Chicago, or an offset such as +05:30`,
    };
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC, in minutes, at an instant. */
export function zoneOffsetAt(name: string, utcMs: number): number {
  let format = formats.get(name);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
    formats.set(name, format);
  }
  const text = format.formatToParts(new Date(utcMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT([+-])(\d\d):(\d\d)$/.exec(text);
  return match === null ? 0 : (Number(match[2]) * 60 + Number(match[3])) * (match[1] === '-' ? -1 : 1);
}

/**
 * The offset of a wall-clock time (`localMs`: the digits read as if UTC) in a zone (in the hour
 * that repeats when daylight saving ends, the later reading).
 */
export function offsetOfLocalTime(zone: LogTimezone, localMs: number): number {
  if (zone.kind === 'offset') return zone.minutes;
  const first = zoneOffsetAt(zone.name, localMs - zoneOffsetAt(zone.name, localMs) * 60_000);
  return zoneOffsetAt(zone.name, localMs - first * 60_000);
}
